# The meta keys a track group keeps (mmddl.datasets.tracks.TRACK_META_KEYS; a
# config cannot import it): the group keys of PackGroupInputs plus the track's
# id, sequence, frames, boxes and source.
track_meta_keys = ('group_id', 'group_name', 'num_images', 'img_paths',
                   'template_id', 'media_ids', 'det_scores', 'split', 'pid',
                   'camid', 'is_query', 'subject_id', 'sample_idx',
                   'kept_indices', 'ddl_group_source', 'track_id', 'sequence',
                   'frame_ids', 'bboxes', 'crop_boxes', 'box_scores',
                   'visibility', 'source', 'source_type', 'image_size')
