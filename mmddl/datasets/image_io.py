"""Image decoding that names the file (or record) of an empty or corrupt
image instead of a bare ``cv2.error``."""
import cv2
import mmcv
import numpy as np


class ImageDecodeError(OSError):
    """An image file or record is missing, empty or not a decodable image."""


def decode_image(data: bytes, name: str) -> np.ndarray:
    """Decode encoded image bytes to a BGR ``uint8`` array.

    Args:
        data (bytes): Encoded image (JPEG, PNG ...).
        name (str): The file or record, named in the error.

    Raises:
        ImageDecodeError: For empty bytes or data that is not an image.
    """
    if not data:
        raise ImageDecodeError(
            f'Cannot read image {name}: the image is empty (0 bytes). '
            'Re-extract or re-download it, or remove it from the list.')
    try:
        img = mmcv.imfrombytes(data, flag='color', channel_order='bgr')
    except (cv2.error, ValueError) as err:
        img, why = None, f'{type(err).__name__}: {err}'.strip()
    else:
        why = 'undecodable image data'
    if img is None:
        raise ImageDecodeError(
            f'Cannot read image {name}: {why} ({len(data)} bytes; '
            'truncated or not an image). Re-extract or re-download it, '
            'or remove it from the list.')
    return img


def read_image_bytes(path: str, name: str = '') -> bytes:
    """The bytes of an image file; a missing / unreadable file is named.

    Args:
        path (str): Image file.
        name (str): How to name it in errors; defaults to ``path``.

    Raises:
        ImageDecodeError: If the file cannot be read.
    """
    try:
        with open(path, 'rb') as f:
            return f.read()
    except OSError as err:
        raise ImageDecodeError(
            f'Cannot read image {name or path}: {err}') from err


def read_image(path: str, name: str = '') -> np.ndarray:
    """Read and decode an image file (BGR ``uint8``).

    Args:
        path (str): Image file.
        name (str): How to name it in errors; defaults to ``path``.

    Raises:
        ImageDecodeError: If the file cannot be read or decoded.
    """
    return decode_image(read_image_bytes(path, name), name or path)
