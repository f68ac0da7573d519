"""A folder of images (the torchvision ``ImageFolder`` layout) as a Dataset of pixel features.

Layout
------
``root/<class>/<image>``: one subfolder per class, its name the class name (classes in
sorted order); images may sit in folders below a class folder too. Images placed directly
in ``root`` with no class subfolders are an *unlabeled pool* (``ds.y is None``); a folder
holding both is refused. A path with a part starting with ``.`` or ``_`` (``.DS_Store``,
``_unused/``) is skipped; any other file that is not an image is an error that names it.
A class folder with no images is skipped (it is not a class); a folder with no images at
all is an error.

Pixels
------
PNG, JPEG, BMP, GIF (first frame) and WebP files are read with Pillow. With
``mode="auto"`` the set is grey (one channel, Pillow's ``"L"``) when every image is grey
(a grey mode, or R == G == B at every pixel, as in a grey palette GIF or WebP), else every
image is converted to ``"RGB"`` (alpha dropped, grey images repeated over the channels);
``mode="L"`` or ``"RGB"`` converts every image to that mode. Images are resized to
``size = (height, width)`` with bilinear resampling (:data:`RESAMPLE`, Pillow's filter,
antialiased when shrinking, as torchvision's ``Resize``); without ``size`` every image
must share one size. Features are the pixels in
row-major order, channels last, scaled from 0..255 to [0, 1] as float32, and
``ds.example_shape`` is ``(height, width)`` or ``(height, width, 3)`` so
``ds.X[i].reshape(ds.example_shape)`` is image ``i``.

Ids are the images' paths relative to ``root`` (POSIX separators, extension kept, so they
are unique); ``ds.extra["path"]`` holds each image's full path; ``ds.name`` is the folder's name.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._errors import ConfigError, DataError
from ..dataset import Dataset, check_example_shape

__all__ = [
    "IMAGE_SUFFIXES",
    "MODES",
    "RESAMPLE",
    "apply_image_shape",
    "image_files",
    "is_image_file",
    "read_image_folder",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
MODES = ("auto", "L", "RGB")
RESAMPLE = "bilinear"

# Pillow modes whose pixels are one grey value (decoded through "L").
_GREY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
_SHOWN = 3


def is_image_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` has an image extension (:data:`IMAGE_SUFFIXES`, any case)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def _visible_files(root: Path) -> list[Path]:
    """Files below ``root`` with no path part starting with ``.`` or ``_``, as sorted relative paths."""
    found = []
    for q in root.rglob("*"):
        rel = q.relative_to(root)
        if any(part.startswith((".", "_")) for part in rel.parts) or not q.is_file():
            continue
        found.append(rel)
    return sorted(found, key=lambda r: r.parts)


def image_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The image files below ``folder`` (relative paths, sorted; hidden and ``_`` paths skipped)."""
    return [r for r in _visible_files(Path(os.fspath(folder)).expanduser()) if is_image_file(r)]


def _pillow() -> Any:
    try:
        from PIL import Image
    except ImportError:
        raise DataError(
            "reading a folder of images needs Pillow, a dependency of datafactors that is missing here: "
            "pip install 'pillow>=10'"
        ) from None
    return Image


def _check_size(size: Any) -> tuple[int, int] | None:
    if size is None:
        return None
    ok = (
        isinstance(size, Sequence | np.ndarray)
        and not isinstance(size, str)
        and len(size) == 2
        and all(isinstance(v, int | np.integer) and not isinstance(v, bool) and v >= 1 for v in size)
    )
    if not ok:
        raise DataError(f"size must be (height, width), two positive ints such as (28, 28), got {size!r}")
    return int(size[0]), int(size[1])


def _shown(rels: Sequence[Path]) -> str:
    names = ", ".join(r.as_posix() for r in rels[:_SHOWN])
    return names + (f" and {len(rels) - _SHOWN} more" if len(rels) > _SHOWN else "")


def _pixels(im: Any, mode: str, size: tuple[int, int], resample: Any) -> np.ndarray:
    """The decoded image as uint8, (h, w) for mode "L", else (h, w, 3), resized to ``size`` = (w, h)."""
    if mode == "L" or im.mode in _GREY_MODES:
        img = im.convert("L")
        img = img if img.size == size else img.resize(size, resample)
        grey = np.asarray(img, dtype=np.uint8)
        return grey if mode == "L" else np.repeat(grey[:, :, None], 3, axis=2)
    img = im.convert("RGB")
    img = img if img.size == size else img.resize(size, resample)
    return np.asarray(img, dtype=np.uint8)


def _open(Image: Any, path: Path, rel: Path, root: Path) -> Any:
    try:
        return Image.open(path)
    except Exception as e:  # Pillow raises UnidentifiedImageError, OSError, ValueError, SyntaxError ...
        raise DataError(f"cannot read image {rel.as_posix()} in {root}: {_reason(e)}") from None


def _reason(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__


def read_image_folder(
    path: str | os.PathLike[str], *, size: Sequence[int] | None = None, mode: str = "auto"
) -> Dataset:
    """Read a folder of images, one subfolder per class, into a Dataset of pixel features.

    Parameters
    ----------
    path : str or os.PathLike
        The folder: ``path/<class>/<image>`` (labels = class folder names, sorted), or
        images directly in ``path`` for an unlabeled pool (``ds.y is None``).
    size : (height, width), optional
        Resize every image to this size (bilinear, :data:`RESAMPLE`). Default: the size of
        the images, which must then all share one size.
    mode : "auto", "L" or "RGB"
        ``"auto"``: grey (``"L"``) when every image is grey, else RGB.

    Returns
    -------
    Dataset
        ``X`` of shape (n_images, height * width * channels), float32 in [0, 1];
        ``example_shape`` ``(height, width)`` or ``(height, width, 3)``; ids = paths
        relative to ``path`` (``"cat/001.png"``); ``extra["path"]`` = full paths.

    Raises
    ------
    DataError
        A file that is not an image or cannot be decoded (named), images of different
        sizes without ``size``, no images, images both at the top level and in class folders.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for c in ("cat", "dog"):
    ...     (root / c).mkdir()
    ...     Image.new("L", (4, 3), 255).save(root / c / "a.png")
    >>> ds = read_image_folder(root)
    >>> ds.example_shape, ds.class_names, ds.ids.tolist()
    ((3, 4), ['cat', 'dog'], ['cat/a.png', 'dog/a.png'])
    """
    Image = _pillow()
    target = _check_size(size)
    if mode not in MODES:
        raise DataError(f"mode must be one of {', '.join(map(repr, MODES))}, got {mode!r}")
    root = Path(os.fspath(path)).expanduser()
    if not root.is_dir():
        raise DataError(f"{root} is not a folder of images")
    name = root.name or str(root)
    files = _visible_files(root)
    images = [r for r in files if is_image_file(r)]
    others = [r for r in files if not is_image_file(r)]
    if not images:
        held = f" (it holds: {_shown(files)})" if files else " (it is empty)"
        raise DataError(f"folder {root} holds no images ({', '.join(IMAGE_SUFFIXES)}){held}")
    if others:
        raise DataError(
            f"folder {root} holds images and {len(others)} file(s) that are not: {_shown(others)}; "
            f"an image folder holds only {', '.join(IMAGE_SUFFIXES)} files "
            "(remove the others, or start their names with '_' or '.' to skip them)"
        )
    top = [r for r in images if len(r.parts) == 1]
    nested = [r for r in images if len(r.parts) > 1]
    if top and nested:
        raise DataError(
            f"folder {root} holds images both at its top level ({_shown(top)}) and in class subfolders "
            f"({_shown(nested)}); put every image in a class subfolder (a labeled set), or all at the top "
            "level (an unlabeled pool)"
        )
    labels = [r.parts[0] for r in nested] if nested else None
    if labels is not None and len(set(labels)) < 2:
        raise DataError(
            f"folder {root} has images in one class subfolder only ({labels[0]}/); a labeled image folder "
            "needs at least 2 class subfolders (or put the images at the top level for an unlabeled pool)"
        )

    # Pass 1 reads headers only (Image.open is lazy): the sizes, to choose the target size.
    sizes: dict[tuple[int, int], Path] = {}
    for rel in images:
        with _open(Image, root / rel, rel, root) as im:
            sizes.setdefault((int(im.height), int(im.width)), rel)
    if target is None:
        if len(sizes) > 1:
            shown = ", ".join(f"{r.as_posix()} is {h}x{w}" for (h, w), r in list(sizes.items())[:_SHOWN])
            raise DataError(
                f"images in {root} have {len(sizes)} different sizes ({shown}; height x width); pass "
                "size=(height, width) to resize them all (image_size: [height, width] in a run config)"
            )
        target = next(iter(sizes))
    h, w = target
    channels = 1 if mode == "L" else 3
    pixels = np.empty((len(images), h * w * channels), dtype=np.uint8)
    grey = True
    for i, rel in enumerate(images):
        try:
            with Image.open(root / rel) as im:
                im.load()
                arr = _pixels(im, mode, (w, h), Image.Resampling.BILINEAR)
        except Exception as e:  # a truncated or corrupt file fails on decoding, after a good header
            raise DataError(f"cannot read image {rel.as_posix()} in {root}: {_reason(e)}") from None
        if mode == "auto" and grey:
            grey = bool((arr[..., 0] == arr[..., 1]).all() and (arr[..., 0] == arr[..., 2]).all())
        pixels[i] = arr.reshape(-1)
    if mode == "auto" and grey:
        # Every image is grey (by its mode or because R == G == B everywhere, as in a WebP or an
        # RGB-saved scan): one channel. R of a grey pixel equals its "L" conversion exactly.
        pixels, channels = np.ascontiguousarray(pixels.reshape(len(images), h * w, 3)[:, :, 0]), 1
    shape = (h, w) if channels == 1 else (h, w, 3)
    X = pixels.astype(np.float32) / np.float32(255.0)
    ids = np.array([r.as_posix() for r in images], dtype=object)
    extra = pd.DataFrame({"path": [str((root / r).absolute()) for r in images]})
    return Dataset.from_arrays(X, labels, ids, extra=extra, name=name, example_shape=shape)


def apply_image_shape(ds: Dataset, shape: Sequence[int] | None, *, key: str = "image_shape") -> Dataset:
    """``ds`` declaring ``example_shape = shape`` (None: ``ds`` unchanged); ConfigError naming ``key`` if it does not fit.

    Examples
    --------
    >>> ds = Dataset.from_arrays(np.zeros((2, 6)), [0, 1])
    >>> apply_image_shape(ds, [2, 3]).example_shape
    (2, 3)
    """
    if shape is None:
        return ds
    import dataclasses

    try:
        dims = check_example_shape(shape, ds.n_features, what=key, name=ds.name)
    except DataError as e:
        raise ConfigError(str(e)) from None
    return dataclasses.replace(ds, example_shape=dims)
