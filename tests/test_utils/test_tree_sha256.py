"""tree_sha256 (the demos' source digest) against an independent hash."""
import hashlib

from mmddl.utils.content_hash import tree_sha256


def test_tree_sha256_matches_independent_digest(tmp_path):
    (tmp_path / 'b').mkdir()
    (tmp_path / '__pycache__').mkdir()
    (tmp_path / 'a.py').write_bytes(b'x = 1\n')
    (tmp_path / 'b' / 'c.py').write_bytes(b'y = 2\n')
    (tmp_path / 'b' / 'notes.txt').write_bytes(b'not hashed')
    (tmp_path / '__pycache__' / 'a.py').write_bytes(b'skipped')
    want = hashlib.sha256(b'a.py\0x = 1\n' + b'b/c.py\0y = 2\n').hexdigest()
    assert tree_sha256(str(tmp_path), '.py') == want
    (tmp_path / 'b' / 'c.py').write_bytes(b'y = 3\n')  # contents count
    assert tree_sha256(str(tmp_path), '.py') != want
    assert tree_sha256(str(tmp_path)) != tree_sha256(str(tmp_path), '.py')
