"""Cross-video matches and contact sheets of tracks."""
import os.path as osp

import numpy as np
import pytest

from mmddl.apis import cross_video_matches, draw_contact_sheet


def test_matches_are_the_nearest_tracks_of_other_videos():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(7, 5))
    videos = ['a', 'a', 'b', 'b', 'b', 'c', 'a']
    names = [f'{v}/{i}' for i, v in enumerate(videos)]
    out = cross_video_matches(names, videos, emb * 3.0, topk=3)
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    for i, row in enumerate(out):
        assert row['track'] == names[i] and row['video'] == videos[i]
        brute = sorted(((float(np.linalg.norm(unit[i] - unit[j])), names[j])
                        for j in range(7) if videos[j] != videos[i]))[:3]
        assert [m['track'] for m in row['matches']] == [n for _, n in brute]
        np.testing.assert_allclose([m['distance'] for m in row['matches']],
                                   [d for d, _ in brute],
                                   atol=1e-5)
    # one video: nobody to match
    assert all(
        not r['matches']
        for r in cross_video_matches(['x/1', 'x/2'], ['x', 'x'], emb[:2]))


@pytest.mark.parametrize('kwargs, words', [
    (dict(topk=0), 'topk must be >= 1'),
    (dict(embeddings=np.full((2, 3), np.nan)), "tracks ['a/1', 'b/1']"),
    (dict(videos=['a']), '2 names, 1 videos'),
])
def test_match_errors(kwargs, words):
    args = dict(
        names=['a/1', 'b/1'],
        videos=['a', 'b'],
        embeddings=np.ones((2, 3)),
        topk=1)
    args.update(kwargs)
    with pytest.raises(ValueError, match=words.replace('[', r'\[')):
        cross_video_matches(**args)


def test_contact_sheet_writes_and_checks(tmp_path):
    crops = [np.full((64, 32, 3), 40 * i, np.uint8) for i in range(5)]
    out = str(tmp_path / 'sheet.png')
    assert draw_contact_sheet(crops, [.1, .5, .2, .9, .3], [1, 3],
                              [3, 4, 5, 7, 8], out, 'x/1') == out
    assert osp.getsize(out) > 0
    with pytest.raises(ValueError, match='kept indices'):
        draw_contact_sheet(crops, [0] * 5, [5], range(5), out)
    with pytest.raises(ValueError, match='5 crops, 4 D-scores'):
        draw_contact_sheet(crops, [0] * 4, [], range(5), out)
