import functools
import gzip
import hashlib
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch

from aelab.data import mnist
from aelab.data.mnist import (
    CONTENT_MD5,
    IMAGES_MAGIC,
    LABELS_MAGIC,
    MnistDownloadError,
    MnistFileError,
    find_mnist,
    load_mnist,
    read_idx,
)

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
FIRST_TRAIN_LABELS = [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
STEMS = list(CONTENT_MD5)


# ---------------------------------------------------------------- helpers and fixtures


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array as IDX: magic (0, 0, 8, ndim), sizes, then the bytes."""
    sizes = b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return bytes([0, 0, 8, array.ndim]) + sizes + array.astype(np.uint8).tobytes()


def synthetic_files(n_train: int = 30, n_test: int = 10) -> dict[str, bytes]:
    """Tiny IDX contents by file stem; image i is filled with the value i, its label is i % 10."""

    def images(n: int) -> np.ndarray:
        return np.repeat(np.arange(n, dtype=np.uint8), 28 * 28).reshape(n, 28, 28)

    def labels(n: int) -> np.ndarray:
        return np.arange(n, dtype=np.uint8) % 10

    arrays = [images(n_train), labels(n_train), images(n_test), labels(n_test)]
    return {stem: idx_bytes(a) for stem, a in zip(STEMS, arrays, strict=True)}


def write_folder(folder: Path, contents: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for stem, content in contents.items():
        (folder / f"{stem}.gz").write_bytes(gzip.compress(content))
    return folder


def md5_table(contents: dict[str, bytes]) -> dict[str, str]:
    return {stem: hashlib.md5(c).hexdigest() for stem, c in contents.items()}


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Keep every test off the network, off the user's cache and off their settings."""
    monkeypatch.setenv("AELAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("AELAB_MNIST_DIR", raising=False)
    monkeypatch.setenv("AELAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(mnist, "MIRRORS", ())


@pytest.fixture(scope="module")
def real(shared_data) -> Path:
    return shared_data / "mnist"


@pytest.fixture(scope="module")
def splits(real) -> mnist.MnistSplits:
    return load_mnist(real)


class _Handler(SimpleHTTPRequestHandler):
    requests: list[tuple[str, int]]

    def log_request(self, code="-", size="-"):
        self.requests.append((self.path, int(code)))

    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    """Serve a folder over HTTP on 127.0.0.1; return its base URL and the request log."""
    servers = []

    def start(folder: Path) -> tuple[str, list[tuple[str, int]]]:
        log: list[tuple[str, int]] = []
        handler_cls = type("Handler", (_Handler,), {"requests": log})
        handler = functools.partial(handler_cls, directory=str(folder))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/", log

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------- the real data set


def test_splits_have_the_published_sizes_shapes_and_types(splits, real):
    sizes = [len(splits.train_images), len(splits.val_images), len(splits.test_images)]
    assert sizes == [48_000, 12_000, 10_000]
    for images, labels in [
        (splits.train_images, splits.train_labels),
        (splits.val_images, splits.val_labels),
        (splits.test_images, splits.test_labels),
    ]:
        assert images.dtype == torch.float32 and images.shape[1:] == (1, 28, 28)
        assert labels.dtype == torch.int64 and labels.shape == (len(images),)
        assert images.min() == 0.0 and images.max() == 1.0
    assert splits.source == real
    assert splits.checksums == {f"{stem}.gz": md5 for stem, md5 in CONTENT_MD5.items()}


def test_label_counts_match_the_published_counts(splits):
    train_file = torch.cat([splits.train_labels, splits.val_labels])
    assert torch.bincount(train_file, minlength=10).tolist() == TRAIN_COUNTS
    assert torch.bincount(splits.test_labels, minlength=10).tolist() == TEST_COUNTS


def test_pixel_statistics_match_the_published_ones(splits):
    parts = [splits.train_images, splits.val_images]
    n = sum(p.numel() for p in parts)
    mean = sum(p.sum(dtype=torch.float64).item() for p in parts) / n
    mean_square = sum(p.square().sum(dtype=torch.float64).item() for p in parts) / n
    assert mean == pytest.approx(0.1307, abs=1e-3)
    assert (mean_square - mean**2) ** 0.5 == pytest.approx(0.3081, abs=1e-3)


def test_read_idx_keeps_file_order_and_header_shape(real):
    labels = read_idx(real / f"{mnist.TRAIN_LABELS}.gz", magic=LABELS_MAGIC)
    assert labels.dtype == np.uint8 and labels.shape == (60_000,)
    assert labels[:10].tolist() == FIRST_TRAIN_LABELS
    images = read_idx(real / f"{mnist.TEST_IMAGES}.gz", magic=IMAGES_MAGIC)
    assert images.dtype == np.uint8 and images.shape == (10_000, 28, 28)
    assert images.flags.writeable


def test_split_depends_on_the_seed_alone_and_limit_keeps_its_head(real, splits):
    first = load_mnist(real, seed=0, limit=200, verify=False)
    again = load_mnist(real, seed=0, limit=200, verify=False)
    other = load_mnist(real, seed=1, limit=200, verify=False)

    assert torch.equal(first.val_labels, again.val_labels)
    assert torch.equal(first.train_images, again.train_images)
    assert not torch.equal(first.val_images, other.val_images)
    # limit cuts each set after the split: the head of the full split, not another split.
    assert len(first.train_labels) == len(first.val_labels) == len(first.test_labels) == 200
    assert torch.equal(first.train_images, splits.train_images[:200])
    assert torch.equal(first.val_labels, splits.val_labels[:200])
    assert torch.equal(first.test_labels, splits.test_labels[:200])


# ---------------------------------------------------------------- damaged and odd files


@pytest.mark.parametrize("compressed", [True, False], ids=["gz", "plain"])
def test_truncated_file_is_rejected_naming_the_file(real, tmp_path, compressed):
    raw = (real / f"{mnist.TEST_LABELS}.gz").read_bytes()
    data = raw if compressed else gzip.decompress(raw)
    bad = tmp_path / "cut-labels"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(MnistFileError, match="cut-labels") as err:
        read_idx(bad)
    assert ("gzip" if compressed else "header gives shape (10000,)") in str(err.value)


def test_wrong_magic_is_rejected_with_what_was_expected(real):
    with pytest.raises(MnistFileError, match="magic number 2049; expected 2051") as err:
        read_idx(real / f"{mnist.TEST_LABELS}.gz", magic=IMAGES_MAGIC)
    assert mnist.TEST_LABELS in str(err.value)


def test_file_that_is_not_idx_is_rejected(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_bytes(b"these are not pixels")
    with pytest.raises(MnistFileError, match="notes.txt.*not that of an IDX file"):
        read_idx(bad)


def test_altered_content_fails_the_checksum_only(real, tmp_path):
    content = bytearray(gzip.decompress((real / f"{mnist.TEST_LABELS}.gz").read_bytes()))
    content[100] = (content[100] + 1) % 10  # still a valid label file
    bad = tmp_path / f"{mnist.TEST_LABELS}.gz"
    bad.write_bytes(gzip.compress(bytes(content)))
    with pytest.raises(MnistFileError, match="md5") as err:
        read_idx(bad, md5=CONTENT_MD5[mnist.TEST_LABELS])
    assert str(bad) in str(err.value) and CONTENT_MD5[mnist.TEST_LABELS] in str(err.value)
    assert read_idx(bad).shape == (10_000,)


def test_gzip_is_recognised_by_its_bytes_not_its_name(real, tmp_path):
    raw = (real / f"{mnist.TEST_LABELS}.gz").read_bytes()
    plain_named_gz = tmp_path / "labels.gz"
    plain_named_gz.write_bytes(gzip.decompress(raw))
    gz_named_plain = tmp_path / "labels"
    gz_named_plain.write_bytes(raw)
    expected = read_idx(real / f"{mnist.TEST_LABELS}.gz")
    assert np.array_equal(read_idx(plain_named_gz), expected)
    assert np.array_equal(read_idx(gz_named_plain), expected)


def test_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing-here"):
        read_idx(tmp_path / "nothing-here.gz")


# ---------------------------------------------------------------- loading synthetic files


def test_split_is_a_partition_that_keeps_images_with_their_labels(tmp_path, monkeypatch):
    contents = synthetic_files(n_train=30, n_test=10)
    folder = write_folder(tmp_path / "data", contents)
    # Store one file plain: a folder may hold either form.
    (folder / f"{mnist.TEST_LABELS}.gz").unlink()
    (folder / mnist.TEST_LABELS).write_bytes(contents[mnist.TEST_LABELS])
    monkeypatch.setattr(mnist, "CONTENT_MD5", md5_table(contents))

    splits = load_mnist(folder, n_val=12, seed=3)

    assert [len(splits.train_labels), len(splits.val_labels), len(splits.test_labels)] == [
        18,
        12,
        10,
    ]
    # Image i holds the value i / 255 everywhere and its label is i % 10.
    ids = torch.cat([splits.train_images, splits.val_images])[:, 0, 0, 0].mul(255).round()
    labels = torch.cat([splits.train_labels, splits.val_labels])
    assert sorted(ids.long().tolist()) == list(range(30))
    assert torch.equal(ids.long() % 10, labels)
    assert splits.test_labels.tolist() == [i % 10 for i in range(10)]
    assert splits.checksums[mnist.TEST_LABELS] == md5_table(contents)[mnist.TEST_LABELS]


def test_verify_false_skips_the_checksum_but_not_the_structure(tmp_path):
    contents = synthetic_files()
    folder = write_folder(tmp_path / "data", contents)
    with pytest.raises(MnistFileError, match="md5"):
        load_mnist(folder, n_val=5)
    assert len(load_mnist(folder, n_val=5, verify=False).train_labels) == 25

    # Labels where the images should be: the magic number still gives it away.
    (folder / f"{mnist.TRAIN_IMAGES}.gz").write_bytes(gzip.compress(contents[mnist.TRAIN_LABELS]))
    with pytest.raises(MnistFileError, match=f"{mnist.TRAIN_IMAGES}.*expected 2051"):
        load_mnist(folder, n_val=5, verify=False)


def test_images_and_labels_must_match_in_number(tmp_path):
    contents = synthetic_files(n_train=30)
    contents[mnist.TRAIN_LABELS] = idx_bytes(np.zeros(29, dtype=np.uint8))
    folder = write_folder(tmp_path / "data", contents)
    with pytest.raises(MnistFileError, match="30 images but .* 29 labels"):
        load_mnist(folder, n_val=5, verify=False)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"n_val": 30}, "n_val must leave training images"), ({"limit": 0}, "limit")],
)
def test_out_of_range_arguments_are_rejected(tmp_path, kwargs, message):
    folder = write_folder(tmp_path / "data", synthetic_files(n_train=30))
    with pytest.raises(ValueError, match=message):
        load_mnist(folder, verify=False, **kwargs)


# ---------------------------------------------------------------- finding the files


def test_places_are_searched_in_order(tmp_path, monkeypatch):
    contents = synthetic_files()
    given = write_folder(tmp_path / "given", contents)
    env = write_folder(tmp_path / "env", contents)
    shared = write_folder(tmp_path / "data" / "mnist", contents)
    cache = write_folder(tmp_path / "cache" / "mnist", contents)
    monkeypatch.setenv("AELAB_MNIST_DIR", str(env))

    assert find_mnist(given) == given
    assert find_mnist() == env
    monkeypatch.delenv("AELAB_MNIST_DIR")
    assert find_mnist() == shared
    shutil.rmtree(shared)
    assert find_mnist() == cache


def test_a_given_path_is_the_only_place_looked_at(tmp_path, monkeypatch):
    # MNIST is complete elsewhere, but a mistyped or partial folder must not be passed over.
    monkeypatch.setenv("AELAB_MNIST_DIR", str(write_folder(tmp_path / "env", synthetic_files())))
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / f"{mnist.TRAIN_IMAGES}.gz").write_bytes(b"")

    for folder, reason in [
        (tmp_path / "typo", "does not exist"),
        (partial, f"lacks {mnist.TRAIN_LABELS}"),
    ]:
        with pytest.raises(FileNotFoundError) as err:
            find_mnist(folder)
        assert f"{folder} ({reason}" in str(err.value)
        assert str(tmp_path / "env") not in str(err.value)


def test_missing_files_name_every_place_searched_and_the_fixes(tmp_path, monkeypatch):
    monkeypatch.setenv("AELAB_MNIST_DIR", str(tmp_path / "from-env"))

    with pytest.raises(FileNotFoundError) as err:
        find_mnist()

    message = str(err.value)
    assert f"{tmp_path / 'from-env'} (does not exist)" in message
    assert str(tmp_path / "cache" / "mnist") in message
    assert "AELAB_MNIST_DIR" in message and "download=True" in message
    assert "--mnist-dir" in message and "--download" in message and "AELAB_DATA_DIR" in message


# ---------------------------------------------------------------- downloading


def test_download_falls_through_a_failing_mirror_and_verifies(tmp_path, monkeypatch, serve):
    contents = synthetic_files()
    write_folder(tmp_path / "site" / "mnist", contents)
    base, requests = serve(tmp_path / "site")
    monkeypatch.setattr(mnist, "MIRRORS", (f"{base}gone/", f"{base}mnist"))
    monkeypatch.setattr(mnist, "CONTENT_MD5", md5_table(contents))
    cache = tmp_path / "cache" / "mnist"
    cache.mkdir(parents=True)
    (cache / mnist.TEST_LABELS).write_bytes(contents[mnist.TEST_LABELS])  # already there

    assert find_mnist(download=True) == cache

    names = sorted(p.name for p in cache.iterdir())
    assert names == sorted([mnist.TEST_LABELS] + [f"{s}.gz" for s in STEMS[:3]])
    assert (f"/gone/{mnist.TRAIN_IMAGES}.gz", 404) in requests
    assert (f"/mnist/{mnist.TRAIN_IMAGES}.gz", 200) in requests
    assert not any(mnist.TEST_LABELS in path for path, _ in requests)
    splits = load_mnist(n_val=10)  # found in the cache now, verified against the table
    assert splits.source == cache and len(splits.train_labels) == 20

    # With the files in place, nothing is requested again.
    requests.clear()
    assert find_mnist(download=True) == cache and requests == []


def test_corrupt_downloads_fail_and_leave_no_file(tmp_path, monkeypatch, serve):
    contents = synthetic_files()
    altered = dict(contents)
    altered[mnist.TRAIN_IMAGES] = contents[mnist.TRAIN_IMAGES][:-1] + b"\x07"
    write_folder(tmp_path / "site" / "altered", altered)
    truncated = write_folder(tmp_path / "site" / "truncated", contents)
    gz = truncated / f"{mnist.TRAIN_IMAGES}.gz"
    gz.write_bytes(gz.read_bytes()[:-20])
    base, _ = serve(tmp_path / "site")
    monkeypatch.setattr(mnist, "MIRRORS", (f"{base}altered/", f"{base}truncated/"))
    monkeypatch.setattr(mnist, "CONTENT_MD5", md5_table(contents))

    with pytest.raises(MnistDownloadError) as err:
        find_mnist(download=True)

    message = str(err.value)
    assert f"{base}altered/{mnist.TRAIN_IMAGES}.gz" in message and "md5" in message
    assert f"{base}truncated/{mnist.TRAIN_IMAGES}.gz" in message and "gzip" in message
    assert list((tmp_path / "cache" / "mnist").iterdir()) == []


def test_download_goes_into_the_given_path(tmp_path, monkeypatch, serve):
    contents = synthetic_files()
    write_folder(tmp_path / "site", contents)
    base, _ = serve(tmp_path / "site")
    monkeypatch.setattr(mnist, "MIRRORS", (base,))
    monkeypatch.setattr(mnist, "CONTENT_MD5", md5_table(contents))
    mine = tmp_path / "my" / "mnist"

    assert find_mnist(mine, download=True) == mine
    assert sorted(p.name for p in mine.iterdir()) == sorted(f"{s}.gz" for s in STEMS)
    assert not (tmp_path / "cache" / "mnist").exists()


def test_download_without_mirrors_says_so(tmp_path):
    with pytest.raises(MnistDownloadError, match="MIRRORS is empty"):
        find_mnist(download=True)
    assert not list((tmp_path / "cache" / "mnist").iterdir())
