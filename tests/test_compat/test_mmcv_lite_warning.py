"""mmcv-lite's import-time ``MultiScaleDeformableAttention`` warning is
filtered by ``mmddl.compat``; other warnings still show."""
import json

import pytest

from mmddl.compat.mmcv_lite_warning import mmcv_has_ops
from compat_helpers import COMPAT_ONLY_PRELUDE, run_python

NAME = 'MultiScaleDeformableAttention'


@pytest.mark.skipif(mmcv_has_ops(), reason='full mmcv: nothing to filter')
@pytest.mark.parametrize('fixes', [True, False])
def test_only_that_warning_is_filtered(fixes):
    """mmcv's module imported with and without the compat fixes (without,
    it warns: so the check can fail). ``import mmddl`` beside mmaction2 is
    checked whole by the plugin guide's stock-tool run."""
    code = COMPAT_ONLY_PRELUDE + f"""
import json, warnings
warnings.resetwarnings()  # Python's defaults, not PYTHONWARNINGS=ignore
warnings.simplefilter('default')
if {fixes}:
    apply_all()
with warnings.catch_warnings(record=True) as caught:
    import mmcv.cnn.bricks.transformer
    warnings.warn('another warning', UserWarning)
print(json.dumps([str(w.message) for w in caught]))
"""
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    caught = json.loads(proc.stdout.strip().splitlines()[-1])
    assert any(NAME in m for m in caught) is not fixes
    assert 'another warning' in caught
