"""Filter mmcv-lite's import-time ``MultiScaleDeformableAttention`` warning."""
import glob
import importlib.util
import os.path as osp
import warnings

SOURCE_MODULE = 'mmcv.cnn.bricks.transformer'
#: The start of the one message filtered (mmcv 2.1.0, its ``except
#: ImportError`` branch); every other warning of that module still shows.
MESSAGE = r'Fail to import ``MultiScaleDeformableAttention``'


def mmcv_has_ops() -> bool:
    """Tell whether mmcv's compiled ops (``mmcv/_ext*``) exist (full mmcv).

    Looks on disk without importing mmcv; False if mmcv is not found.
    """
    try:
        spec = importlib.util.find_spec('mmcv')
    except (ImportError, ValueError):
        return False
    for root in (spec.submodule_search_locations or []) if spec else []:
        if glob.glob(osp.join(root, '_ext*')):
            return True
    return False


def install() -> str:
    """Filter that one warning where mmcv-lite emits it.

    ``mmcv.cnn.bricks.transformer`` (imported with mmaction2's and
    mmpretrain's models) tries ``mmcv.ops``, which mmcv-lite lacks, and warns
    at import. Harmless here: no mmddl, mmaction2 or mmpretrain module uses
    that op (mmdet's deformable DETR does, and needs full mmcv anyway).

    Returns:
        str: A one-line status.
    """
    if mmcv_has_ops():
        return 'not needed: full mmcv (its ops import, no warning)'
    warnings.filterwarnings(
        'ignore',
        message=MESSAGE,
        category=UserWarning,
        module=SOURCE_MODULE.replace('.', r'\.'))
    return (f'applied: {SOURCE_MODULE} no longer warns that mmcv-lite lacks '
            'MultiScaleDeformableAttention')
