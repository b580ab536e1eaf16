"""MNIST from its IDX files: find or download them, verify them, split them into tensors.

The four files of the canonical distribution are read with NumPy alone, gzipped or plain.
Each file is checked for its IDX magic number, for a size that matches its header and,
unless told otherwise, for the md5 of its content. :func:`load_mnist` splits the training
file into training and validation sets by a seeded permutation and returns them, with the
test set, as float tensors in [0, 1].
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import logging
import math
import os
import shutil
import tempfile
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
DOWNLOAD_TIMEOUT_S = 60.0
ENV_DIR = "AELAB_MNIST_DIR"
ENV_CACHE = "AELAB_CACHE_DIR"

IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions (N, rows, columns)
LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension (N,)

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"

# NOTE: these are md5s of the decompressed content, not of the gz files, so that a file
# recompressed with other settings (or stored plain) still passes: the data is the same.
CONTENT_MD5: dict[str, str] = {
    TRAIN_IMAGES: "6bbc9ace898e44ae57da46a324031adb",
    TRAIN_LABELS: "a25bea736e30d166cdddb491f175f624",
    TEST_IMAGES: "2646ac647ad5339dbf082846283269ea",
    TEST_LABELS: "27ae3e4e09519cfbb04c329615203637",
}

_MAGIC = {
    TRAIN_IMAGES: IMAGES_MAGIC,
    TRAIN_LABELS: LABELS_MAGIC,
    TEST_IMAGES: IMAGES_MAGIC,
    TEST_LABELS: LABELS_MAGIC,
}
_GZIP_MAGIC = b"\x1f\x8b"
_UBYTE = 0x08


class MnistFileError(ValueError):
    """A data file is truncated, damaged, or not the file that was expected."""


class MnistDownloadError(OSError):
    """A file could be downloaded intact from none of the mirrors."""


@dataclass(frozen=True, eq=False, repr=False)
class MnistSplits:
    """MNIST as tensors: training and validation sets from the training file, and the test set.

    Images are float32 in [0, 1] shaped ``(N, 1, 28, 28)``; labels are the digits as int64,
    shaped ``(N,)``.

    Attributes:
        train_images: images the network is trained on.
        train_labels: their digits.
        val_images: images held out of the training file for validation.
        val_labels: their digits.
        test_images: the images of the test file.
        test_labels: their digits.
        checksums: md5 of each file's decompressed content, by file name.
        source: the folder the files were read from.
    """

    train_images: torch.Tensor
    train_labels: torch.Tensor
    val_images: torch.Tensor
    val_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    checksums: dict[str, str]
    source: Path

    def __repr__(self) -> str:
        return (
            f"MnistSplits(train={len(self.train_labels)}, val={len(self.val_labels)}, "
            f"test={len(self.test_labels)}, source={str(self.source)!r})"
        )


def read_idx(path: str | Path, *, magic: int | None = None, md5: str | None = None) -> np.ndarray:
    """Read an IDX file of unsigned bytes, gzipped or plain.

    Whether the file is gzipped is decided by its first bytes, not by its name.

    Args:
        path: the file.
        magic: the IDX magic number the file must carry (:data:`IMAGES_MAGIC` for MNIST
            images, :data:`LABELS_MAGIC` for labels); ``None`` accepts any unsigned-byte
            IDX file.
        md5: the md5 the decompressed content must have; ``None`` skips this check.

    Returns:
        A uint8 array with the shape the header gives, e.g. ``(60000, 28, 28)``.

    Raises:
        FileNotFoundError: if there is no file at ``path``.
        MnistFileError: if the file is not a complete IDX file of unsigned bytes, carries
            another magic number, or its content has another md5.

    Example:
        >>> labels = read_idx("mnist/train-labels-idx1-ubyte.gz", magic=LABELS_MAGIC)
        >>> labels[:3]
        array([5, 0, 4], dtype=uint8)
    """
    array, _ = _read_idx(Path(path), magic, md5)
    return array.copy()  # a writable array of its own, not a view of the file's bytes


def find_mnist(path: str | Path | None = None, download: bool = False) -> Path:
    """Return the folder that holds the four MNIST files.

    A folder the caller names is the only place looked at: a mistyped path is an error,
    not a reason to read MNIST from somewhere else. Without one, the places searched, in
    order: the folder named by the environment variable ``AELAB_MNIST_DIR``; ``mnist/`` in
    the data folder that holds every data set aelab reads
    (:func:`aelab.data.benchmarks.data_root`: ``$AELAB_DATA_DIR``, else ``../shared/data``
    beside a source checkout); the cache folder, ``$AELAB_CACHE_DIR/mnist`` or else
    ``~/.cache/aelab/mnist``. A folder holds a file when it has it gzipped
    (``train-images-idx3-ubyte.gz``) or plain (``train-images-idx3-ubyte``). The files are
    located here, not read; :func:`load_mnist` verifies them.

    Args:
        path: the folder to use; ``None`` searches the places above.
        download: when no place holds all four files, download the ones missing from
            :data:`MIRRORS` into ``path``, or into the cache folder when no path is given.
            Each file is verified (structure and content md5) under a temporary name and
            renamed only when it passes.

    Returns:
        The folder.

    Raises:
        FileNotFoundError: if no place holds the files and ``download`` is false.
        MnistDownloadError: if a file could be downloaded intact from no mirror.

    Example:
        >>> folder = find_mnist(download=True)
    """
    places: list[tuple[str, Path]] = []
    if path is not None:
        target = Path(path).expanduser()
        places.append(("the given path", target))
    else:
        if os.environ.get(ENV_DIR):
            places.append((f"${ENV_DIR}", Path(os.environ[ENV_DIR]).expanduser()))
        from aelab.data.benchmarks import data_root  # the data sets' common folder

        shared = data_root() / "mnist"
        if shared.is_dir():
            places.append(("the data folder", shared))
        target = _cache_dir()
        places.append(("the cache folder", target))

    # The first place holding all four files wins.
    searched: list[str] = []
    for what, folder in places:
        reason = _why_not(folder)
        if reason is None:
            return folder
        searched.append(f"{what}: {folder} ({reason})")

    if not download:
        raise FileNotFoundError(
            "MNIST not found; searched:\n  "
            + "\n  ".join(searched)
            + f"\nGive the folder holding the four files ({', '.join(_MAGIC)}, gzipped or "
            f"not): as path= in Python or --mnist-dir on the command line, or in ${ENV_DIR}, "
            "or as mnist/ under $AELAB_DATA_DIR. Or allow the download: download=True in "
            "Python, --download on the command line."
        )
    _, missing = _files_in(target)
    logger.info("Downloading %d MNIST file(s) into %s", len(missing), target)
    target.mkdir(parents=True, exist_ok=True)
    for stem in missing:
        _download(stem, target)
    return target


def load_mnist(
    path: str | Path | None = None,
    *,
    n_val: int = 12_000,
    seed: int = 0,
    download: bool = False,
    verify: bool = True,
    limit: int | None = None,
) -> MnistSplits:
    """Load MNIST as training, validation and test tensors.

    The validation images are drawn from the training file by a permutation seeded with
    ``seed``, so a seed always gives the same split; the training and validation sets keep
    the permutation's order, the test set keeps the file's order.

    Args:
        path: a folder holding the four files; see :func:`find_mnist` for where else they
            are looked for.
        n_val: images of the training file held out for validation.
        seed: seed of the permutation that draws the validation images.
        download: download the files into the cache folder when they are found nowhere.
        verify: check each file's content md5 against the published one. Pass ``False``
            for other data in the same layout (e.g. Fashion-MNIST); the structure is
            checked all the same.
        limit: keep only the first ``limit`` images of each set, after the split, for
            quick runs.

    Returns:
        The sets as tensors, the content checksums and the folder they came from.

    Raises:
        FileNotFoundError: if the files are found nowhere and ``download`` is false.
        MnistFileError: if a file is truncated, damaged or not the expected one, or the
            images and labels of a set differ in number.
        MnistDownloadError: if a file could be downloaded intact from no mirror.
        ValueError: if ``n_val`` or ``limit`` is out of range.

    Example:
        >>> splits = load_mnist(n_val=12_000, seed=0)
        >>> splits.train_images.shape, splits.val_labels.shape
        (torch.Size([48000, 1, 28, 28]), torch.Size([12000]))
    """
    import torch

    if not isinstance(n_val, int) or n_val < 0:
        raise ValueError(f"n_val must be an integer >= 0; got {n_val!r}")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive integer or None; got {limit!r}")

    # Read and check every file.
    folder = find_mnist(path, download=download)
    files, _ = _files_in(folder)
    arrays: dict[str, np.ndarray] = {}
    checksums: dict[str, str] = {}
    for stem, file in files.items():
        expected_md5 = CONTENT_MD5[stem] if verify else None
        arrays[stem], checksums[file.name] = _read_idx(file, _MAGIC[stem], expected_md5)
    _check_pair(
        files[TRAIN_IMAGES], arrays[TRAIN_IMAGES], files[TRAIN_LABELS], arrays[TRAIN_LABELS]
    )
    _check_pair(files[TEST_IMAGES], arrays[TEST_IMAGES], files[TEST_LABELS], arrays[TEST_LABELS])
    if arrays[TRAIN_IMAGES].shape[1:] != arrays[TEST_IMAGES].shape[1:]:
        raise MnistFileError(
            f"the training images in {files[TRAIN_IMAGES]} are "
            f"{arrays[TRAIN_IMAGES].shape[1:]} pixels but the test images in "
            f"{files[TEST_IMAGES]} are {arrays[TEST_IMAGES].shape[1:]}; use files of one "
            "data set"
        )

    # Split the training file by a seeded permutation.
    n_train_file = len(arrays[TRAIN_LABELS])
    if n_val >= n_train_file:
        raise ValueError(
            f"n_val must leave training images: the training file holds {n_train_file}, "
            f"n_val is {n_val}; pass an n_val below {n_train_file}"
        )
    order = np.random.default_rng(seed).permutation(n_train_file)
    indices = {
        "train": order[n_val:],
        "val": order[:n_val],
        "test": np.arange(len(arrays[TEST_LABELS])),
    }
    if limit is not None:
        indices = {name: idx[:limit] for name, idx in indices.items()}

    # Index (a copy) while still uint8, then scale: (N, H, W) -> (N, 1, H, W) in [0, 1].
    def images(array: np.ndarray, idx: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array[idx]).unsqueeze(1).float().div_(255.0)

    def labels(array: np.ndarray, idx: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array[idx].astype(np.int64))

    splits = MnistSplits(
        train_images=images(arrays[TRAIN_IMAGES], indices["train"]),
        train_labels=labels(arrays[TRAIN_LABELS], indices["train"]),
        val_images=images(arrays[TRAIN_IMAGES], indices["val"]),
        val_labels=labels(arrays[TRAIN_LABELS], indices["val"]),
        test_images=images(arrays[TEST_IMAGES], indices["test"]),
        test_labels=labels(arrays[TEST_LABELS], indices["test"]),
        checksums=checksums,
        source=folder,
    )
    logger.info(
        "Loaded MNIST from %s: %d training, %d validation, %d test images (seed %d%s)",
        folder,
        len(splits.train_labels),
        len(splits.val_labels),
        len(splits.test_labels),
        seed,
        "" if verify else ", checksums not verified",
    )
    return splits


def _cache_dir() -> Path:
    root = os.environ.get(ENV_CACHE)
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "aelab"
    return base / "mnist"


def _files_in(folder: Path) -> tuple[dict[str, Path], list[str]]:
    """Split the four files into those ``folder`` holds (gzipped first) and those it lacks."""
    found: dict[str, Path] = {}
    missing: list[str] = []
    for stem in _MAGIC:
        for name in (f"{stem}.gz", stem):
            if (folder / name).is_file():
                found[stem] = folder / name
                break
        else:
            missing.append(stem)
    return found, missing


def _why_not(folder: Path) -> str | None:
    """Say why ``folder`` does not hold the four files, or return ``None`` when it does."""
    if not folder.exists():
        return "does not exist"
    if not folder.is_dir():
        return "is not a folder"
    _, missing = _files_in(folder)
    if missing:
        return f"lacks {', '.join(missing)}"
    return None


def _read_idx(
    path: Path, magic: int | None, md5: str | None, name: str | None = None
) -> tuple[np.ndarray, str]:
    """Parse an IDX file into a read-only uint8 array; also return its content md5.

    ``name`` is how error messages call the file (the path when not given).
    """
    name = name or str(path)
    content = _read_content(path, name)

    # Header: two zero bytes, the type code, the number of dimensions, then one
    # big-endian uint32 size per dimension.
    if len(content) < 4:
        raise MnistFileError(
            f"{name}: {len(content)} bytes is too short for an IDX header; the file is empty "
            "or truncated: replace it"
        )
    found_magic = int.from_bytes(content[:4], "big")
    if magic is not None and found_magic != magic:
        raise MnistFileError(
            f"{name}: IDX magic number {found_magic}; expected {magic} "
            f"({_describe_magic(magic)}). Is it the right file, and not damaged?"
        )
    ndim = content[3]
    if content[:2] != b"\0\0" or content[2] != _UBYTE or ndim == 0:
        raise MnistFileError(
            f"{name}: magic number 0x{found_magic:08x} is not that of an IDX file of unsigned "
            "bytes (0x000008NN, NN dimensions); only such files are read"
        )
    header = 4 + 4 * ndim
    if len(content) < header:
        raise MnistFileError(
            f"{name}: {len(content)} bytes is too short for the header of {ndim} dimensions "
            f"({header} bytes); the file is truncated: replace it"
        )
    shape = tuple(int.from_bytes(content[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected_size = header + math.prod(shape)
    if len(content) != expected_size:
        raise MnistFileError(
            f"{name}: the header gives shape {shape}, {expected_size:,} bytes with the header, "
            f"but the content holds {len(content):,} bytes; the file is truncated or damaged: "
            "replace it"
        )

    digest = hashlib.md5(content, usedforsecurity=False).hexdigest()
    if md5 is not None and digest != md5:
        raise MnistFileError(
            f"{name}: the md5 of the content is {digest}; expected {md5}. The file is damaged "
            "or is not the published one: replace it (delete it and download again), or, "
            "for data of your own in this layout, skip the checksum (verify=False)"
        )
    array = np.frombuffer(content, dtype=np.uint8, offset=header).reshape(shape)
    return array, digest


def _read_content(path: Path, name: str) -> bytes:
    """Return a file's bytes, decompressed when they start with the gzip magic bytes."""
    if not path.is_file():
        raise FileNotFoundError(f"no IDX file at {path}")
    raw = path.read_bytes()
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        raise MnistFileError(
            f"{name}: not a complete gzip file ({err}); it is truncated or damaged: replace "
            "it (delete it and download again)"
        ) from err


def _describe_magic(magic: int) -> str:
    if magic == IMAGES_MAGIC:
        return "an IDX file of images"
    if magic == LABELS_MAGIC:
        return "an IDX file of labels"
    return f"0x{magic:08x}"


def _check_pair(
    images_path: Path, images: np.ndarray, labels_path: Path, labels: np.ndarray
) -> None:
    if len(images) != len(labels):
        raise MnistFileError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} "
            "labels; they must match one to one: use the files of one set"
        )


def _download(stem: str, folder: Path) -> None:
    """Download ``stem``.gz into ``folder``, trying each mirror until one gives a good file."""
    name = f"{stem}.gz"
    failures: list[str] = []
    for mirror in MIRRORS:
        url = f"{mirror.rstrip('/')}/{name}"
        logger.info("Downloading %s", url)

        # Write under a temporary name in the same folder, so that the rename is atomic
        # and nothing half-written ever carries the final name.
        fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
        tmp = Path(tmp_name)
        try:
            with (
                os.fdopen(fd, "wb") as out,
                urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response,
            ):
                shutil.copyfileobj(response, out)
            _read_idx(tmp, _MAGIC[stem], CONTENT_MD5[stem], name=f"{name} from {url}")
            os.replace(tmp, folder / name)
            return
        # URLError, HTTPError and timeouts are OSErrors; a bad URL and a bad file ValueErrors.
        except (OSError, ValueError, http.client.HTTPException) as err:
            failures.append(f"{url}: {err}")
            logger.warning("Could not get %s from %s: %s", name, mirror, err)
        finally:
            tmp.unlink(missing_ok=True)

    tried = "\n  ".join(failures) if failures else "no mirror (MIRRORS is empty)"
    raise MnistDownloadError(
        f"could not download {name} into {folder}; tried:\n  {tried}\n"
        "Check the network connection, or put the four MNIST files in a folder by hand and "
        f"pass it as path or set {ENV_DIR} to it"
    )


__all__ = [
    "CONTENT_MD5",
    "IMAGES_MAGIC",
    "LABELS_MAGIC",
    "MIRRORS",
    "MnistDownloadError",
    "MnistFileError",
    "MnistSplits",
    "find_mnist",
    "load_mnist",
    "read_idx",
]
