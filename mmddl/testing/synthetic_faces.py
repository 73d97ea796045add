"""Synthetic face identities, degradations and face / re-ID miniatures."""
import csv
import os
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from mmddl.datasets.face.alignment import arcface_template
from mmddl.datasets.recordio import IRHeader, RecordIOWriter, pack

ImageSet = Union[np.ndarray, Sequence[np.ndarray]]
#: Degradations; each is ``fn(img, rng, severity, landmarks=None)`` on an
#: (H, W, 3) uint8 image with a ``np.random.Generator`` and a severity in
#: [0, 1], returning ``(image, landmarks)`` (landmarks moved by ``pose``).
DEGRADATIONS = ('blur', 'occlusion', 'noise', 'low_light', 'pose')


# ------------------------------------------------------------- degradations
def blur(img, rng, severity, landmarks=None):
    """Gaussian blur; sigma grows with ``severity`` (0..1) and image size."""
    sigma = (0.3 + 2.5 * severity) * img.shape[0] / 32.0
    return cv2.GaussianBlur(img, (0, 0), sigmaX=sigma), landmarks


def occlusion(img, rng, severity, landmarks=None):
    """Cover 10-50 % of the image with a flat colour or noise rectangle."""
    h, w = img.shape[:2]
    area = (0.1 + 0.4 * severity) * h * w
    ratio = rng.uniform(0.5, 2.0)
    oh = int(np.clip(np.sqrt(area * ratio), 1, h))
    ow = int(np.clip(area / oh, 1, w))
    y, x = rng.integers(0, h - oh + 1), rng.integers(0, w - ow + 1)
    out = img.copy()
    if rng.random() < 0.5:
        out[y:y + oh, x:x + ow] = rng.integers(0, 256, 3)
    else:
        out[y:y + oh, x:x + ow] = rng.integers(0, 256, (oh, ow, 3))
    return out, landmarks


def noise(img, rng, severity, landmarks=None):
    """Additive Gaussian noise, sigma 5..50 grey levels."""
    sigma = 5.0 + 45.0 * severity
    out = img.astype(np.float32) + rng.normal(0.0, sigma, img.shape)
    return np.clip(out, 0, 255).astype(np.uint8), landmarks


def low_light(img, rng, severity, landmarks=None):
    """Gamma darkening, reduced gain and a little sensor noise."""
    x = (img.astype(np.float32) / 255.0)**(1.0 + 3.0 * severity)
    x = x * (1.0 - 0.7 * severity) * 255.0 + rng.normal(
        0, 2 + 6 * severity, img.shape)
    return np.clip(x, 0, 255).astype(np.uint8), landmarks


def pose(img, rng, severity, landmarks=None):
    """Yaw/roll-like affine warp (squeeze, shear, rotation) of the image."""
    h, w = img.shape[:2]
    sign = rng.choice([-1.0, 1.0])
    angle = sign * 25.0 * severity * rng.uniform(0.5, 1.0)
    rot = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle, 1.0)
    squeeze = 1.0 - 0.45 * severity
    shear = sign * 0.25 * severity
    lin = np.array([[squeeze, shear], [0.0, 1.0]], np.float64)
    a = rot[:, :2] @ lin
    center = np.array([w / 2.0, h / 2.0])
    shift = center - a @ center + np.array([sign * 0.15 * severity * w, 0.0])
    m = np.hstack([a, shift[:, None]])
    out = cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
    if landmarks is not None:
        landmarks = (np.asarray(landmarks, np.float64) @ a.T +
                     shift).astype(np.float32)
    return out, landmarks


DEGRADATION_FNS: Dict[str, Callable] = dict(
    blur=blur,
    occlusion=occlusion,
    noise=noise,
    low_light=low_light,
    pose=pose)


def degrade(img: np.ndarray,
            kinds: Sequence[str],
            rng: np.random.Generator,
            severity: float = 0.5,
            landmarks: Optional[np.ndarray] = None):
    """Apply degradations in order.

    Args:
        img (np.ndarray): (H, W, 3) uint8 image.
        kinds (Sequence[str]): Names from :data:`DEGRADATIONS`.
        rng (np.random.Generator): Random generator (the only source of
            randomness).
        severity (float): Strength in [0, 1].
        landmarks (np.ndarray, optional): Optional (5, 2) points, moved by
            geometric degradations.

    Returns:
        tuple: ``(image, landmarks)``.
    """
    if not 0.0 <= severity <= 1.0:
        raise ValueError(f'severity must lie in [0, 1], got {severity}.')
    for kind in kinds:
        if kind not in DEGRADATION_FNS:
            raise ValueError(
                f'Unknown degradation {kind!r}; choose from {DEGRADATIONS}.')
        img, landmarks = DEGRADATION_FNS[kind](img, rng, severity, landmarks)
    return img, landmarks


# ------------------------------------------------------------------ identities
def random_identity(rng: np.random.Generator) -> dict:
    """Draw the appearance parameters of one synthetic identity.

    Args:
        rng (np.random.Generator): Random generator.
    """
    return dict(
        skin=rng.integers(60, 230, 3),
        hair=rng.integers(0, 200, 3),
        eye=rng.integers(0, 160, 3),
        mark=rng.integers(0, 256, (3, 3)),
        mark_pos=rng.uniform([-25, -10], [25, 30], (3, 2)),
        mark_r=rng.uniform(3, 7, 3),
        width=rng.uniform(0.8, 1.1),
        height=rng.uniform(0.9, 1.1),
        lmk_offset=rng.normal(0, 2.5, (5, 2)),
        hair_len=rng.uniform(0.2, 0.6),
        nose_w=rng.uniform(2, 6))


def draw_face(ident: dict, size: int, rng: np.random.Generator):
    """Render one image of an identity (small pose/illumination jitter).

    Args:
        ident (dict): Parameters from :func:`random_identity`.
        size (int): Output side length (square image).
        rng (np.random.Generator): Random generator.

    Returns:
        tuple: ``(img (size, size, 3) uint8 BGR, landmarks (5, 2) float32)``.
    """
    s = 4  # draw at 4x for anti-aliasing, in 112-template units * k
    k = size * s / 112.0
    jitter = rng.normal(0, 1.5, 2)
    lmk = arcface_template(112) + ident['lmk_offset'] + jitter
    canvas = np.empty((size * s, size * s, 3), np.uint8)
    canvas[:] = rng.integers(90, 170,
                             3)  # per-image background: no identity cue

    def pt(p):
        return tuple(int(round(v * k)) for v in p)

    cx, cy = 56 + jitter[0], 68 + jitter[1]
    ax, ay = 38 * ident['width'], 48 * ident['height']
    cv2.ellipse(canvas, pt((cx, cy - ay * 0.25)),
                pt((ax * 1.08, ay * (0.9 + ident['hair_len']))), 0, 180, 360,
                ident['hair'].tolist(), -1)
    cv2.ellipse(canvas, pt((cx, cy)), pt((ax, ay)), 0, 0, 360,
                ident['skin'].tolist(), -1)
    for (dx, dy), col, r in zip(ident['mark_pos'], ident['mark'],
                                ident['mark_r']):
        cv2.circle(canvas, pt((cx + dx, cy + dy)), int(r * k), col.tolist(),
                   -1)
    for e in lmk[:2]:
        cv2.circle(canvas, pt(e), int(5 * k), (245, 245, 245), -1)
        cv2.circle(canvas, pt(e), int(2.6 * k), ident['eye'].tolist(), -1)
    nose_top = (lmk[0] + lmk[1]) / 2 + (0, 6)
    cv2.line(canvas, pt(nose_top), pt(lmk[2]), (ident['skin'] * 0.6).tolist(),
             max(1, int(ident['nose_w'] * k / 2)))
    open_ = rng.uniform(0.5, 5.0)
    mc = (lmk[3] + lmk[4]) / 2
    cv2.ellipse(canvas, pt(mc), pt(((lmk[4][0] - lmk[3][0]) / 2, open_)), 0, 0,
                360, (40, 40, 150), -1)
    img = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA)
    gain = rng.uniform(0.85, 1.15)
    img = np.clip(img.astype(np.float32) * gain, 0, 255).astype(np.uint8)
    return img, (lmk * size / 112.0).astype(np.float32)


def draw_image_sets(num_identities: int,
                    images_per_identity: Union[int, Sequence[int]],
                    seed: int,
                    new_identity: Callable[[np.random.Generator], dict],
                    render: Callable[[dict, np.random.Generator], tuple],
                    degradation_prob: float = 0.0,
                    kinds: Sequence[str] = DEGRADATIONS,
                    severity: Tuple[float, float] = (0.3, 1.0),
                    max_kinds: int = 2) -> Tuple[list, list, list]:
    """Image sets of random identities, optionally degraded per image.

    One generator seeded with ``seed`` draws, identity after identity, the
    appearance (``new_identity(rng)``), then per image its rendering
    (``render(identity, rng)``) and its degradation.

    Args:
        num_identities (int): Number of identities.
        images_per_identity (int | Sequence[int]): Images per identity (int or
            one int per identity).
        seed (int): Seed of everything.
        new_identity (Callable): ``rng -> identity`` parameters.
        render (Callable): ``(identity, rng) -> (image, landmarks or None)``.
        degradation_prob (float): Probability that an image gets
            1..``max_kinds`` degradations drawn from ``kinds`` with a severity
            in ``severity``.
        kinds (Sequence[str]): Allowed degradation names.
        severity (Tuple[float, float]): (low, high) severity range.
        max_kinds (int): Most degradations stacked on one image.

    Returns:
        tuple: Per identity its (n_i, H, W, 3) uint8 BGR array of images,
        the list of its images' landmarks (as ``render`` gave them, moved by
        the degradations) and the list of its images' degradation records
        ``dict(kinds, severity)``.
    """
    rng = np.random.default_rng(seed)
    counts = ([images_per_identity] * num_identities if
              np.ndim(images_per_identity) == 0 else list(images_per_identity))
    if len(counts) != num_identities:
        raise ValueError(
            f'{len(counts)} image counts for {num_identities} identities.')
    out, lmks, metas = [], [], []
    for n in counts:
        ident = new_identity(rng)
        imgs, pts, meta = [], [], []
        for _ in range(int(n)):
            img, lmk = render(ident, rng)
            rec = dict(kinds=(), severity=0.0)
            if rng.random() < degradation_prob:
                nk = int(rng.integers(1, min(max_kinds, len(kinds)) + 1))
                chosen = tuple(
                    str(c)
                    for c in rng.choice(list(kinds), size=nk, replace=False))
                sev = float(rng.uniform(*severity))
                img, lmk = degrade(img, chosen, rng, sev, lmk)
                rec = dict(kinds=chosen, severity=sev)
            imgs.append(img)
            pts.append(lmk)
            meta.append(rec)
        out.append(np.stack(imgs))
        lmks.append(pts)
        metas.append(meta)
    return out, lmks, metas


def make_identities(num_identities: int,
                    images_per_identity: Union[int, Sequence[int]],
                    size: int = 32,
                    seed: int = 0,
                    return_meta: bool = False,
                    **degradation):
    """Synthetic face identities (:func:`draw_face`), optionally degraded
    per image.

    Args:
        num_identities (int): Number of identities.
        images_per_identity (int | Sequence[int]): Images per identity (int or
            one int per identity).
        size (int): Square image side.
        seed (int): Seed of everything.
        return_meta (bool): Also return landmarks and per-image degradation
            records.
        **degradation: ``degradation_prob``, ``kinds``, ``severity`` and
            ``max_kinds`` of :func:`draw_image_sets` (default: none).

    Returns:
        list[np.ndarray]: (n_i, size, size, 3) uint8 BGR arrays, and with
        ``return_meta`` a dict with ``landmarks`` (list of (n_i, 5, 2)) and
        ``degradations`` (list of lists of ``dict(kinds, severity)``).
    """
    out, lmks, metas = draw_image_sets(
        num_identities, images_per_identity, seed, random_identity,
        lambda ident, rng: draw_face(ident, size, rng), **degradation)
    if return_meta:
        return out, dict(
            landmarks=[np.stack(pts) for pts in lmks], degradations=metas)
    return out


# ------------------------------------------------------------------ writers
def _as_lists(identities: Sequence[ImageSet]) -> List[List[np.ndarray]]:
    out = []
    for i, imgs in enumerate(identities):
        imgs = list(imgs)
        for img in imgs:
            if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
                raise ValueError(
                    f'Identity {i}: images must be (H, W, 3) uint8, '
                    f'got {img.dtype} {img.shape}.')
        if not imgs:
            raise ValueError(f'Identity {i} has no images.')
        out.append(imgs)
    return out


def _imwrite(path: str, img: np.ndarray) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    if not cv2.imwrite(path, img):
        raise IOError(f'Could not write {path}.')


def _split(n: int, parts: int, what: str) -> List[np.ndarray]:
    if n < parts:
        raise ValueError(f'{what}: {n} images cannot fill {parts} groups.')
    return np.array_split(np.arange(n), parts)


def write_ytf(root: str,
              identities: Sequence[ImageSet],
              videos_per_identity: int = 2,
              num_splits: int = 10,
              pairs_per_split: int = 4,
              aligned: bool = True,
              first_frame: int = 95,
              seed: int = 0) -> dict:
    """YouTube Faces: ``<db>/<Name>/<vid>/<frames>`` + ``splits.txt``.

    Frames are named like the real DBs (``aligned_detect_<vid>.<n>.jpg`` or
    ``<vid>.<n>.jpg``), numbered from ``first_frame`` (default crosses a digit
    boundary, so a lexicographic sort would be wrong). ``splits.txt`` has the
    real header and ``split, pair id, first name, second name, is same`` lines;
    each split holds half same / half different pairs.

    Args:
        root (str): Output folder.
        identities (Sequence[ImageSet]): Images of each identity.
        videos_per_identity (int): Videos per identity (>= 2).
        num_splits (int): Number of splits (folds).
        pairs_per_split (int): Pairs per split, half same and half different.
        aligned (bool): Write ``aligned_images_DB`` (else ``frame_images_DB``).
        first_frame (int): Number of the first frame of each video.
        seed (int): Seed of the pair draw.

    Returns:
        dict: ``videos`` (``'Name/vid' -> [frame paths]``), ``pairs`` (list of
        ``(split, pair_id, name1, name2, is_same)``), ``db_dir`` and
        ``splits_file``.
    """
    rng = np.random.default_rng(seed)
    ids = _as_lists(identities)
    db = osp.join(root, 'aligned_images_DB' if aligned else 'frame_images_DB')
    videos: Dict[str, List[str]] = {}
    by_person: List[List[str]] = []
    for i, imgs in enumerate(ids):
        name = f'Person_{i:03d}'
        by_person.append([])
        for vid, idxs in enumerate(
                _split(len(imgs), videos_per_identity, name)):
            frames = []
            for j, k in enumerate(idxs):
                stem = f'{vid}.{first_frame + j}.jpg'
                path = osp.join(db, name, str(vid),
                                f'aligned_detect_{stem}' if aligned else stem)
                _imwrite(path, imgs[k])
                frames.append(path)
            videos[f'{name}/{vid}'] = frames
            by_person[-1].append(f'{name}/{vid}')
    if len(ids) < 2 or videos_per_identity < 2:
        raise ValueError(
            'YTF pairs need >= 2 identities and >= 2 videos each.')
    pairs = []
    for split in range(1, num_splits + 1):
        for pid in range(1, pairs_per_split + 1):
            same = int(pid <= pairs_per_split // 2)
            if same:
                vids = by_person[rng.integers(len(by_person))]
                a, b = rng.choice(len(vids), 2, replace=False)
                n1, n2 = vids[a], vids[b]
            else:
                p1, p2 = rng.choice(len(by_person), 2, replace=False)
                n1 = by_person[p1][rng.integers(len(by_person[p1]))]
                n2 = by_person[p2][rng.integers(len(by_person[p2]))]
            pairs.append((split, pid, n1, n2, same))
    splits_file = osp.join(root, 'splits.txt')
    with open(splits_file, 'w') as f:
        f.write('split number, pair id, first name, second name, is same\n')
        for p in pairs:
            f.write(f'{p[0]}, {p[1]}, {p[2]}, {p[3]}, {p[4]}\n')
    return dict(videos=videos, pairs=pairs, db_dir=db, splits_file=splits_file)


def write_ijb(root: str,
              identities: Sequence[ImageSet],
              prefix: str = 'ijbc',
              templates_per_identity: int = 2,
              images_per_media: int = 2,
              landmarks: Optional[Sequence[np.ndarray]] = None,
              seed: int = 0) -> dict:
    """IJB-B/C as insightface ships it: ``meta/`` files + ``loose_crop/``.

    Writes ``meta/<prefix>_face_tid_mid.txt`` (``name tid mid``),
    ``meta/<prefix>_template_pair_label.txt`` (``t1 t2 label``, every template
    pair), ``meta/<prefix>_name_5pts_score.txt``
    (``name x1 y1 .. x5 y5 score``) and ``loose_crop/<k>.jpg``. Template
    and media ids are random, non contiguous integers. Landmarks default to
    the scaled ArcFace template.

    Args:
        root (str): Output folder.
        identities (Sequence[ImageSet]): Images of each identity.
        prefix (str): File name prefix, ``'ijbc'`` or ``'ijbb'``.
        templates_per_identity (int): Templates per identity.
        images_per_media (int): Consecutive images of a template that share a
            media id.
        landmarks (Sequence[np.ndarray], optional): (n_i, 5, 2) landmarks per
            identity; None uses the scaled ArcFace template.
        seed (int): Seed of the ids and detection scores.

    Returns:
        dict: ``templates`` (tid -> dict(identity, images, medias, landmarks,
        scores)), ``pairs`` (list of (t1, t2, label)), ``image_names``.
    """
    rng = np.random.default_rng(seed)
    ids = _as_lists(identities)
    meta = osp.join(root, 'meta')
    os.makedirs(meta, exist_ok=True)
    tids = rng.choice(
        np.arange(1, 100000), templates_per_identity * len(ids), replace=False)
    mids = iter(
        rng.choice(np.arange(1, 1000000), sum(map(len, ids)), replace=False))
    templates, names, rows, lmk_rows = {}, [], [], []
    t_iter = iter(tids.tolist())
    for i, imgs in enumerate(ids):
        for idxs in _split(len(imgs), templates_per_identity, f'identity {i}'):
            tid = next(t_iter)
            t = templates[tid] = dict(
                identity=i, images=[], medias=[], landmarks=[], scores=[])
            for j, k in enumerate(idxs):
                if j % images_per_media == 0:
                    mid = int(next(mids))
                name = f'{len(names) + 1}.jpg'
                _imwrite(osp.join(root, 'loose_crop', name), imgs[k])
                lmk = (
                    landmarks[i][k] if landmarks is not None else
                    arcface_template(imgs[k].shape[:2]))
                score = round(float(rng.uniform(0.5, 1.0)), 6)
                names.append(name)
                rows.append(f'{name} {tid} {mid}')
                lmk_rows.append(name + ' ' + ' '.join(f'{v:.4f}'
                                                      for v in np.ravel(lmk)) +
                                f' {score}')
                t['images'].append(name)
                t['medias'].append(mid)
                t['landmarks'].append(np.round(np.asarray(lmk, np.float64), 4))
                t['scores'].append(score)
    order = list(templates)
    pairs = [(a, b, int(templates[a]['identity'] == templates[b]['identity']))
             for x, a in enumerate(order) for b in order[x + 1:]]
    with open(osp.join(meta, f'{prefix}_face_tid_mid.txt'), 'w') as f:
        f.write('\n'.join(rows) + '\n')
    with open(osp.join(meta, f'{prefix}_name_5pts_score.txt'), 'w') as f:
        f.write('\n'.join(lmk_rows) + '\n')
    with open(osp.join(meta, f'{prefix}_template_pair_label.txt'), 'w') as f:
        f.write(''.join(f'{a} {b} {y}\n' for a, b, y in pairs))
    return dict(templates=templates, pairs=pairs, image_names=names)


IJBA_HEADER = (
    'TEMPLATE_ID,SUBJECT_ID,FILE,MEDIA_ID,SIGHTING_ID,FRAME,FACE_X,FACE_Y,'
    'FACE_WIDTH,FACE_HEIGHT,RIGHT_EYE_X,RIGHT_EYE_Y,LEFT_EYE_X,LEFT_EYE_Y,'
    'NOSE_BASE_X,NOSE_BASE_Y,FACE_YAW,FOREHEAD_VISIBLE,EYES_VISIBLE,'
    'NOSE_MOUTH_VISIBLE,INDOOR,GENDER,SKIN_TONE,AGE,FACIAL_HAIR').split(',')


def write_ijba(root: str,
               identities: Sequence[ImageSet],
               num_splits: int = 2,
               templates_per_identity: int = 2,
               pad: int = 8,
               seed: int = 0) -> dict:
    """IJB-A 1:1: ``IJB-A_11_sets/split{k}/verify_*_{k}.csv`` and images.

    Each face is pasted at a random offset into a larger grey canvas written
    to ``images/img/<n>.jpg`` (still, own media id) or
    ``images/frame/<media>_<frame>.png`` (video frame, media shared inside a
    template); its box goes to
    ``FACE_X/Y/WIDTH/HEIGHT``. Templates are random image subsets (they may
    overlap, as in IJB-A); comparisons are all template pairs of a split
    (headerless ``t1,t2``). Some landmark cells are left empty, as in the real
    CSVs.

    Args:
        root (str): Output folder.
        identities (Sequence[ImageSet]): Images of each identity.
        num_splits (int): Number of splits.
        templates_per_identity (int): Templates per identity and split.
        pad (int): Margin of the canvas around each face, in pixels.
        seed (int): Seed of the offsets and templates.

    Returns:
        dict: ``splits`` -> {k: dict(templates={tid: dict(subject, files,
        medias, bboxes)}, comparisons=[(t1, t2)])}, ``images_dir``, ``sources``
        (FILE -> (identity, image index)).
    """
    rng = np.random.default_rng(seed)
    ids = _as_lists(identities)
    img_dir = osp.join(root, 'images')
    files, sources = [], {}  # per identity: list of (file, media, bbox, frame)
    next_media, sighting = 1000, 1
    for i, imgs in enumerate(ids):
        recs = []
        for k, img in enumerate(imgs):
            h, w = img.shape[:2]
            canvas = np.full((h + 2 * pad, w + 2 * pad, 3), 127, np.uint8)
            ox, oy = rng.integers(0, 2 * pad + 1, 2)
            canvas[oy:oy + h, ox:ox + w] = img
            if k % 2 == 0:
                next_media += 1
                rel, frame = f'img/{next_media}.jpg', ''
            else:
                rel, frame = f'frame/{next_media}_{k * 30:05d}.png', str(k *
                                                                         30)
            _imwrite(osp.join(img_dir, rel), canvas)
            recs.append((rel, next_media, (float(ox), float(oy), float(w),
                                           float(h)), frame))
            sources[rel] = (i, k)
        files.append(recs)
    out, tid = {}, 100
    for split in range(1, num_splits + 1):
        d = osp.join(root, 'IJB-A_11_sets', f'split{split}')
        os.makedirs(d, exist_ok=True)
        templates = {}
        with open(
                osp.join(d, f'verify_metadata_{split}.csv'), 'w',
                newline='') as f:
            wr = csv.writer(f)
            wr.writerow(IJBA_HEADER)
            for i, recs in enumerate(files):
                for _ in range(templates_per_identity):
                    tid += 1
                    n = int(rng.integers(1, len(recs) + 1))
                    pick = sorted(
                        rng.choice(len(recs), n, replace=False).tolist())
                    t = templates[tid] = dict(
                        subject=500 + i, files=[], medias=[], bboxes=[])
                    for j in pick:
                        rel, media, (x, y, w, h), frame = recs[j]
                        eyes = ([
                            '', ''
                        ] if rng.random() < 0.3  # missing cells, as in IJB-A
                                else
                                [f'{x + w * 0.34:.3f}', f'{y + h * 0.46:.3f}'])
                        wr.writerow([
                            tid, 500 + i, rel, media, sighting, frame, x, y, w,
                            h, *eyes, f'{x + w * 0.66:.3f}',
                            f'{y + h * 0.46:.3f}', f'{x + w / 2:.3f}',
                            f'{y + h * 0.64:.3f}', '', 1, 1, 1, 1,
                            int(rng.integers(0, 2)), 3, 3, 0
                        ])
                        sighting += 1
                        t['files'].append(rel)
                        t['medias'].append(media)
                        t['bboxes'].append((x, y, w, h))
        tl = list(templates)
        comps = [(a, b) for x, a in enumerate(tl) for b in tl[x + 1:]]
        with open(osp.join(d, f'verify_comparisons_{split}.csv'), 'w') as f:
            f.write(''.join(f'{a},{b}\n' for a, b in comps))
        out[split] = dict(templates=templates, comparisons=comps)
    return dict(splits=out, images_dir=img_dir, sources=sources)


def write_iqiyi(root: str,
                identities: Sequence[ImageSet],
                videos_per_identity: int = 2,
                list_name: str = 'labels.txt',
                seed: int = 0) -> dict:
    """iQIYI-VID-FACE style: ``frames/<video>/<k>.jpg`` and a label list.

    The official iQIYI-VID-FACE labels were never published; the list format
    (one ``videoname label`` per line) is this project's convention.

    Args:
        root (str): Output folder.
        identities (Sequence[ImageSet]): Images of each identity.
        videos_per_identity (int): Videos per identity.
        list_name (str): File name of the label list.
        seed (int): Seed of the video order.

    Returns:
        dict: ``videos`` (name -> (label, [frame paths])), ``list_file``.
    """
    rng = np.random.default_rng(seed)
    ids = _as_lists(identities)
    entries = []
    for i, imgs in enumerate(ids):
        for idxs in _split(len(imgs), videos_per_identity, f'identity {i}'):
            entries.append((i, idxs))
    order = rng.permutation(len(entries))
    videos = {}
    for n, e in enumerate(order):
        label, idxs = entries[e]
        name = f'IQIYI_VID_TEST_{n + 1:07d}'
        paths = [
            osp.join(root, 'frames', name, f'{j:04d}.jpg')
            for j in range(len(idxs))
        ]
        for p, k in zip(paths, idxs):
            _imwrite(p, ids[label][k])
        videos[name] = (label, paths)
    list_file = osp.join(root, list_name)
    with open(list_file, 'w') as f:
        f.write(''.join(f'{name} {lab}\n'
                        for name, (lab, _) in videos.items()))
    return dict(videos=videos, list_file=list_file)


def write_mars(root: str,
               identities: Sequence[ImageSet],
               num_train: Optional[int] = None,
               tracklets_per_identity: int = 3,
               num_junk: int = 1,
               num_distractors: int = 1,
               seed: int = 0) -> dict:
    """MARS: ``bbox_{train,test}/<pid>/<pid>C<c>T<tttt>F<fff>.jpg``, ``info/``.

    The first ``num_train`` identities (default half) go to training. Each
    identity's images are split into tracklets on distinct cameras (1..6).
    The test set also holds ``num_junk`` tracklets of pid -1 (folder ``00-1``)
    and ``num_distractors`` of pid 0 (folder ``0000``) made of noise images.
    ``info/`` gets ``train_name.txt``, ``test_name.txt``,
    ``tracks_train_info.mat``, ``tracks_test_info.mat`` (rows: start, end,
    pid, camid; 1-based, inclusive) and ``query_IDX.mat`` (1-based test rows;
    the first tracklet of each test identity).

    Args:
        root (str): Output folder.
        identities (Sequence[ImageSet]): Images of each identity.
        num_train (int, optional): Training identities; None takes half.
        tracklets_per_identity (int): Tracklets per identity (at most 6, one
            per camera).
        num_junk (int): Junk tracklets (pid -1) in the test set.
        num_distractors (int): Distractor tracklets (pid 0) in the test set.
        seed (int): Seed of the cameras and noise images.

    Returns:
        dict: ``train_tracks`` / ``test_tracks`` (lists of dict(pid, camid,
        names)), ``query_rows`` (0-based), ``root``.
    """
    from scipy.io import savemat
    rng = np.random.default_rng(seed)
    ids = _as_lists(identities)
    num_train = len(ids) // 2 if num_train is None else num_train
    if tracklets_per_identity > 6:
        raise ValueError(
            'MARS has 6 cameras: at most 6 tracklets per identity here.')
    shape = ids[0][0].shape

    def tracks_of(pid, imgs):
        cams = rng.choice(
            np.arange(1, 7), tracklets_per_identity, replace=False)
        return [
            dict(pid=pid, camid=int(c), imgs=[imgs[k] for k in idxs])
            for c, idxs in zip(
                cams, _split(len(imgs), tracklets_per_identity, f'pid {pid}'))
        ]

    train = [t for i in range(num_train) for t in tracks_of(i + 1, ids[i])]
    test = [
        t for i in range(num_train, len(ids))
        for t in tracks_of(i + 1, ids[i])
    ]
    for pid, count in ((-1, num_junk), (0, num_distractors)):
        for _ in range(count):
            imgs = [
                rng.integers(0, 256, shape).astype(np.uint8) for _ in range(3)
            ]
            test.append(
                dict(pid=pid, camid=int(rng.integers(1, 7)), imgs=imgs))
    pid_str = lambda p: '00-1' if p == -1 else f'{p:04d}'  # noqa: E731
    info = osp.join(root, 'info')
    os.makedirs(info, exist_ok=True)
    out = {}
    for split, tracks in (('train', train), ('test', test)):
        tracks.sort(key=lambda t: pid_str(t['pid']))
        names, rows, tcount = [], [], {}
        for t in tracks:
            tcount[t['pid']] = tcount.get(t['pid'], 0) + 1
            t['names'] = []
            for f, img in enumerate(t['imgs']):
                name = (f"{pid_str(t['pid'])}C{t['camid']}"
                        f"T{tcount[t['pid']]:04d}F{f + 1:03d}.jpg")
                _imwrite(
                    osp.join(root, f'bbox_{split}', pid_str(t['pid']), name),
                    img)
                t['names'].append(name)
            rows.append([
                len(names) + 1,
                len(names) + len(t['names']), t['pid'], t['camid']
            ])
            names += t['names']
            del t['imgs']
        with open(osp.join(info, f'{split}_name.txt'), 'w') as f:
            f.write('\n'.join(names) + '\n')
        savemat(
            osp.join(info, f'tracks_{split}_info.mat'),
            {f'track_{split}_info': np.asarray(rows, np.float64)})
        out[f'{split}_tracks'] = tracks
    seen, query_rows = set(), []
    for r, t in enumerate(test):
        if t['pid'] > 0 and t['pid'] not in seen:
            seen.add(t['pid'])
            query_rows.append(r)
    savemat(
        osp.join(info, 'query_IDX.mat'),
        {'query_IDX': (np.asarray(query_rows, np.float64) + 1)[None, :]})
    out.update(query_rows=query_rows, root=root)
    return out


def write_recordio(root: str,
                   identities: Sequence[ImageSet],
                   ext: str = '.jpg',
                   insightface_header: bool = True) -> dict:
    """insightface-style ``train.rec`` / ``train.idx`` / ``property``.

    Image records get keys 1..N (header label = identity as float, ``id`` =
    key); with ``insightface_header`` identity records (label = [start, end)
    key range) follow and record 0 (written last, as insightface does) holds
    ``[first identity key, end of identity keys]``.

    Args:
        root (str): Output folder.
        identities (Sequence[ImageSet]): Images of each identity.
        ext (str): Image encoding for ``cv2.imencode``, e.g. ``'.jpg'``.
        insightface_header (bool): Write insightface's header and identity
            records (else image records only).

    Returns:
        dict: ``labels`` (key -> identity), ``images`` (key -> image array),
        ``rec``, ``idx``.
    """
    ids = _as_lists(identities)
    rec, idx = osp.join(root, 'train.rec'), osp.join(root, 'train.idx')
    os.makedirs(root, exist_ok=True)
    labels, images, ranges = {}, {}, []
    key = 1
    with RecordIOWriter(rec, idx) as w:
        for i, imgs in enumerate(ids):
            start = key
            for img in imgs:
                ok, buf = cv2.imencode(ext, img)
                if not ok:
                    raise IOError(f'Could not encode an image as {ext}.')
                w.write_idx(key,
                            pack(IRHeader(0, float(i), key, 0), buf.tobytes()))
                labels[key], images[key] = i, img
                key += 1
            ranges.append((start, key))
        if insightface_header:
            id_start = key
            for start, end in ranges:
                w.write_idx(key, pack(IRHeader(0, [start, end], key, 0), b''))
                key += 1
            w.write_idx(0, pack(IRHeader(0, [id_start, key], 0, 1), b''))
    h, wd = ids[0][0].shape[:2]
    with open(osp.join(root, 'property'), 'w') as f:
        f.write(f'{len(ids)},{h},{wd}\n')
    return dict(labels=labels, images=images, rec=rec, idx=idx)


def write_image_folder(root: str,
                       identities: Sequence[ImageSet],
                       ext: str = '.png',
                       names: Optional[Sequence[str]] = None) -> dict:
    """ImageFolder layout ``<root>/<identity>/<k><ext>`` (``CustomDataset``).

    Args:
        root (str): Output folder.
        identities (Sequence[ImageSet]): Images of each identity.
        ext (str): Image file extension.
        names (Sequence[str], optional): Folder name of each identity; None
            numbers them.

    Returns:
        dict: ``classes`` (folder names) and ``samples`` (list of
        (path, label)).
    """
    ids = _as_lists(identities)
    names = list(names) if names is not None else [
        f'id_{i:05d}' for i in range(len(ids))
    ]
    samples = []
    for label, (name, imgs) in enumerate(zip(names, ids)):
        for k, img in enumerate(imgs):
            path = osp.join(root, name, f'{k:04d}{ext}')
            _imwrite(path, img)
            samples.append((path, label))
    return dict(classes=names, samples=samples)
