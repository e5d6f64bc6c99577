"""The Dask executor on a real LocalCluster on loopback (two worker processes): the work goes
to the cluster, the ledger and DEST stay here, and the outputs equal a local run's."""

from __future__ import annotations

import shutil
import sqlite3

import pytest

from synthmark.batch import relabel

from ..conftest import fixture_bytes
from .conftest import KEY, PLATFORM, labeled, small_wav, tree_hashes, watermarked

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=40,
    ) as local:
        yield local


def _outputs(dest):
    return {k: v for k, v in tree_hashes(dest).items() if not k.startswith(".synthmark-batch")}


def test_dask_cluster_runs_the_batch_like_the_local_pool(cluster, tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    for i in range(6):
        (src / f"l{i}.jpg").write_bytes(labeled("small256.jpg", produce_id=f"order-{i}"))
    (src / "sub" / "wm.jpg").write_bytes(watermarked("portrait.jpg"))
    (src / "sub" / "plain.png").write_bytes(fixture_bytes("gray.png"))
    (src / "sub" / "tone.wav").write_bytes(small_wav())
    (src / "sub" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 broken")
    with zipfile_of(src / "more.zip") as add:
        add("inner/a.jpg", labeled("small256.jpg", produce_id="zipped"))

    dask_dest = tmp_path / "dask"
    summary = relabel(src, dask_dest, propagator=PLATFORM, keys=[KEY], scheduler=cluster.scheduler_address)
    assert summary.workers == 2
    assert (summary.done, summary.failed, summary.errors) == (10, 1, {"corrupt": 1})
    assert summary.classes == {"confirmed": 7, "suspected": 1, "none": 2}
    db = sqlite3.connect(dask_dest / ".synthmark-batch.sqlite")
    assert db.execute("SELECT COUNT(*) FROM files").fetchone() == (11,)

    local_dest = tmp_path / "local"
    relabel(src, local_dest, propagator=PLATFORM, keys=[KEY], jobs=1)
    assert _outputs(dask_dest) == _outputs(local_dest)

    # A connected Client works too, and a rerun through it skips everything.
    with distributed.Client(cluster) as client:
        again = relabel(src, dask_dest, propagator=PLATFORM, keys=[KEY], scheduler=client)
    assert (again.skipped, again.done, again.failed) == (10, 0, 1)
    shutil.rmtree(local_dest)


class zipfile_of:
    def __init__(self, path):
        import zipfile

        self.handle = zipfile.ZipFile(path, "w")

    def __enter__(self):
        return self.handle.writestr

    def __exit__(self, *exc):
        self.handle.close()
