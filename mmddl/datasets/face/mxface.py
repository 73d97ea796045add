"""insightface MXNet RecordIO training sets (MS1M, Glint360K) without mxnet."""
import os.path as osp

import numpy as np
from mmengine.logging import print_log
from mmengine.utils import ProgressBar
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

from ..image_io import decode_image
from ..recordio import RecordIOError, RecordIOReader, unpack


@DATASETS.register_module()
class MXFaceDataset(BaseDataset):
    """Images + identity labels from ``train.rec`` / ``train.idx``.

    Record 0 with ``flag > 0`` (insightface convention) gives label ``[a, b]``:
    images are keys ``1 .. a-1``; keys ``a .. b-1`` are identity records whose
    label ``[start, end)`` is the key range of one identity (identity ordinal =
    key - a), so labels are known without reading every image header
    (``label_source='identities'``). Without such a header every key is an
    image and labels come from the image headers (``'headers'``, one pass
    with a progress bar); ``'auto'`` picks.

    The dataset decodes the image itself (BGR, like ``LoadImageFromFile``), so
    the pipeline must NOT start with ``LoadImageFromFile``. Each item has
    ``img`` (unless ``decode=False``), ``img_bytes`` (the encoded image),
    ``gt_label`` and ``img_path = '<rec path>@<key>'`` (a unique key, e.g. for
    ``LoadDScore``).

    Args:
        data_root (str): Folder holding the files.
        ann_file (str): The ``.idx`` file, default ``train.idx``.
        rec_file (str): The ``.rec`` file, default ``train.rec``.
        label_source (str): ``'auto'`` | ``'identities'`` | ``'headers'``.
        decode (bool): Decode to ``img`` (else only ``img_bytes``).
        **kwargs: Other mmpretrain ``BaseDataset`` arguments.
    """

    def __init__(self,
                 data_root: str = '',
                 ann_file: str = 'train.idx',
                 rec_file: str = 'train.rec',
                 label_source: str = 'auto',
                 decode: bool = True,
                 **kwargs):
        if label_source not in ('auto', 'identities', 'headers'):
            raise ValueError(
                'label_source must be auto/identities/headers, got '
                f'{label_source!r}.')
        if not osp.isabs(rec_file) and data_root:
            rec_file = osp.join(data_root, rec_file)
        self.rec_file = rec_file
        self.label_source = label_source
        self.decode = decode
        self.reader = None
        super().__init__(ann_file=ann_file, data_root=data_root, **kwargs)

    def _header0(self):
        if 0 not in self.reader.index:
            return None
        head, _ = unpack(self.reader.read_idx(0))
        return head if head.flag > 0 else None

    def load_data_list(self):
        """Index the records and attach a label to every image key."""
        self.reader = RecordIOReader(self.rec_file, self.ann_file)
        head0 = self._header0()
        source = self.label_source
        if source == 'auto':
            source = 'identities' if head0 is not None else 'headers'
        if source == 'identities':
            if head0 is None or head0.flag < 2:
                raise RecordIOError(
                    f'{self.rec_file}: record 0 has no insightface header '
                    '[first identity key, end]; use label_source="headers".')
            a, b = int(head0.label[0]), int(head0.label[1])
            labels = np.full(a, -1, np.int64)
            for ordinal, key in enumerate(range(a, b)):
                head, _ = unpack(self.reader.read_idx(key))
                if head.flag < 2:
                    raise RecordIOError(
                        f'{self.rec_file}: identity record {key} has no '
                        '[start, end) label.')
                start, end = int(head.label[0]), int(head.label[1])
                if not 1 <= start < end <= a:
                    raise RecordIOError(
                        f'{self.rec_file}: identity record {key} range '
                        f'[{start}, {end}) outside image keys 1..{a - 1}.')
                labels[start:end] = ordinal
            keys = list(range(1, a))
            unlabeled = [k for k in keys if labels[k] < 0]
            if unlabeled:
                raise RecordIOError(
                    f'{self.rec_file}: {len(unlabeled)} image keys belong '
                    f'to no identity record, e.g. {unlabeled[:5]}.')
            pairs = [(k, int(labels[k])) for k in keys]
            num_classes = b - a
        else:
            # insightface header: the images are keys 1 .. a-1
            if head0 is not None and head0.flag >= 2:
                keys = list(range(1, int(head0.label[0])))
            else:
                keys = [
                    k for k in self.reader.keys
                    if not (head0 is not None and k == 0)
                ]
            pairs, bar = [], ProgressBar(len(keys))
            for k in keys:
                head, payload = unpack(self.reader.read_idx(k))
                if head.flag >= 2 and not payload:
                    raise RecordIOError(
                        f'{self.rec_file}: record {k} is an insightface '
                        'identity record ([start, end) label, no image), '
                        'not an image, but the labels are read from the '
                        'image headers because ' +
                        ('label_source="headers" was chosen' if self.
                         label_source == 'headers' else
                         f'{self.ann_file} has no line for key 0 (the '
                         'header record)') +
                        '. Restore the key-0 line of the .idx (or '
                        'regenerate the .idx) and use label_source='
                        '"auto" or "identities".')
                lab = head.label if np.ndim(head.label) == 0 else head.label[0]
                pairs.append((k, int(lab)))
                bar.update()
            num_classes = max(p[1] for p in pairs) + 1 if pairs else 0
        missing = [k for k, _ in pairs if k not in self.reader.index]
        if missing:
            raise RecordIOError(
                f'{self.ann_file}: {len(missing)} image keys missing from the '
                f'index, e.g. {missing[:5]}.')
        self._metainfo.setdefault('classes',
                                  tuple(str(i) for i in range(num_classes)))
        print_log(
            f'MXFaceDataset: {len(pairs)} images, {num_classes} identities '
            f'(labels from {source}).',
            logger='current')
        return [
            dict(img_path=f'{self.rec_file}@{k}', rec_key=k, gt_label=lab)
            for k, lab in pairs
        ]

    def prepare_data(self, idx):
        """Read (and decode) the record, then run the pipeline."""
        info = self.get_data_info(idx)
        _, img_bytes = unpack(self.reader.read_idx(info['rec_key']))
        info['img_bytes'] = img_bytes
        if self.decode:
            img = decode_image(img_bytes,
                               f'record {info["rec_key"]} of {self.rec_file}')
            info.update(
                img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])
        return self.pipeline(info)

    def extra_repr(self):
        """Shown in ``repr(dataset)``."""
        return [
            f'Index file: \t{self.ann_file}', f'Record file: \t{self.rec_file}'
        ]
