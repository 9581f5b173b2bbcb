"""Shared fixtures: the real LFW copy and a two-ID set built from it.

Tests that need LFW take the ``lfw`` fixture (or one built on it, such as ``two_id_dir``): where
LFW is absent they SKIP with :func:`facelab.data.datasets.locate_lfw`'s message (the places looked
at), and every other test still runs. To check that on a machine that has LFW, hide it::

    FACELAB_LFW= FACELAB_NO_SHARED=1 python -m pytest tests/test_x.py -rs

(``$FACELAB_NO_SHARED`` makes ``locate_lfw`` skip ``../shared/datasets/lfw``; ``data/lfw`` in the
checkout must not exist either.) Tests never call ``LFW()`` themselves.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

# Helpers the tests share with benchmarks/ (tests/browser.py: headless Chromium) are imported as
# ``tests.<module>``; the suite runs with --import-mode=importlib, which puts nothing on sys.path,
# so the repository root goes there (the benchmarks do the same).
if str(Path(__file__).resolve().parents[1]) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def pytest_collection_modifyitems(config, items):
    """Tests marked ``browser`` skip, with the reason, where Chromium, its driver or selenium is missing."""
    marked = [item for item in items if item.get_closest_marker("browser")]
    if not marked:
        return
    from tests.browser import find_chromium

    _, _, missing = find_chromium()
    if missing:
        for item in marked:
            item.add_marker(pytest.mark.skip(reason=missing))


@pytest.fixture(scope="session")
def lfw():
    """The real LFW copy; skips (with where it was looked for) when there is none."""
    from facelab.core.errors import DatasetNotFoundError
    from facelab.data.datasets import LFW

    try:
        return LFW()
    except DatasetNotFoundError as exc:
        pytest.skip(f"needs LFW: {exc}")


@pytest.fixture(scope="session")
def two_id_dir(tmp_path_factory, lfw):
    """The default two-ID set (Colin_Powell vs Tony_Blair, 50 + 50), built once per session."""
    from facelab.data.datasets import build_two_id

    return build_two_id(tmp_path_factory.mktemp("data") / "two_id", lfw_root=lfw.root)


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Keep embedding caches of tests out of the user's cache folder.

    Session-scoped, so that module- and session-scoped fixtures (which are set up before any
    function-scoped fixture) embed into the test cache too.
    """
    mp = pytest.MonkeyPatch()
    mp.setenv("FACELAB_CACHE", str(tmp_path_factory.getbasetemp() / "facelab-cache"))
    yield
    mp.undo()


@pytest.fixture(scope="session")
def serve_folder():
    """``serve(folder) -> base URL``: a quiet HTTP server on 127.0.0.1 (a free port) serving
    ``folder``, for fetch tests (weights, LFW) that must not touch the internet. Each call starts
    one; all are stopped at the session's end."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    servers = []

    def serve(folder) -> str:
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        servers.append((httpd, thread))
        return f"http://127.0.0.1:{httpd.server_address[1]}"

    yield serve
    for httpd, thread in servers:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def copy_two_id(two_id_dir):
    """``copy(dest, per_identity)``: the first photos of each two-ID identity, copied to ``dest/<identity>/``."""
    import shutil
    from pathlib import Path

    from facelab.data.datasets import read_identity_folders

    def copy(dest, per_identity):
        for ident, grp in read_identity_folders(two_id_dir).images.groupby("identity"):
            (dest / ident).mkdir(parents=True)
            for p in grp.path.head(per_identity):
                shutil.copyfile(p, dest / ident / Path(p).name)
        return dest

    return copy


@pytest.fixture(scope="session")
def planted_audit(tmp_path_factory, lfw):
    """``facelab audit`` (dlib) on a teaching-set copy with label errors planted by a fixed seed.

    The copy: the first 24 of the teaching set's 62 identities (name order), 20 photos each, as
    the teaching set samples them; :func:`facelab.data.planted.plant_errors` moves 2% of its
    photos into a wrong identity and puts near-duplicates of 1% into other identities (seed 0:
    10 moved, 5 duplicated). A subset keeps the cold dlib run of the test session short; the
    rates are the issue's, measured on the whole copy. Returns the planted errors, the audit's
    folder and what the command printed.
    """
    from types import SimpleNamespace

    from facelab.cli import main
    from facelab.data.datasets import build_two_id
    from facelab.data.planted import plant_errors
    from facelab.data.teaching import teaching_identities

    base = tmp_path_factory.mktemp("planted")
    src = build_two_id(base / "teaching24", lfw_root=lfw.root, identities=teaching_identities(lfw)[:24],
                       per_identity=20, seed=0)
    planted = plant_errors(src, base / "planted", move=0.02, duplicate=0.01, seed=0)
    out = base / "audit"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["audit", str(planted.root), "--out", str(out), "--quiet"])
    assert rc == 0, buf.getvalue()
    return SimpleNamespace(planted=planted, out=out, printed=buf.getvalue())


@pytest.fixture(scope="session")
def small_audit(tmp_path_factory, copy_two_id):
    """A :class:`~facelab.analysis.audit.DatasetAudit` (dlib) of 5 + 5 two-ID photos, with one of the
    first identity's photos copied into the second (a duplicate across identities, rank 1)."""
    import shutil

    from facelab.analysis.audit import audit_result
    from facelab.data.datasets import read_identity_folders
    from facelab.engine.pipeline import embed_images

    root = copy_two_id(tmp_path_factory.mktemp("small_audit") / "ds", 5)
    ds = read_identity_folders(root)
    first = ds.images.path.iloc[0]
    other = sorted(set(ds.images.identity))[1]
    shutil.copyfile(first, root / other / "copy.jpg")
    ds = read_identity_folders(root)
    res = embed_images(ds.images, model="dlib", policy="central", progress=False)
    return audit_result(res, names=ds.names)


# ------------------------------------------------------------------------------------------
# A real Dask cluster: one scheduler and two single-thread workers on 127.0.0.1
# ------------------------------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[1]
DASK = Path(sys.executable).with_name("dask")


@dataclass
class Cluster:
    """The processes of the ``cluster`` fixture (all started, and stopped, by it)."""

    address: str
    scheduler: subprocess.Popen
    logs: Path
    env: dict
    workers: list = field(default_factory=list)

    def add_worker(self) -> subprocess.Popen:
        """Start one more single-thread worker (e.g. after a test killed one)."""
        name = f"w{len(self.workers)}"
        p = subprocess.Popen(
            [str(DASK), "worker", self.address, "--nthreads", "1", "--no-nanny", "--no-dashboard", "--host",
             "127.0.0.1", "--name", name, "--local-directory", str(self.logs / name)],
            stdout=open(self.logs / f"{name}.log", "wb"), stderr=subprocess.STDOUT, env=self.env,
            start_new_session=True,
        )
        self.workers.append(p)
        return p

    def worker_pids(self, client) -> dict:
        """``{worker address: pid}`` as the scheduler sees them (only processes started here)."""
        mine = {p.pid for p in self.workers}
        return {a: pid for a, pid in client.run(os.getpid).items() if pid in mine}


def _stop(procs) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    """A real ``dask scheduler`` and two ``dask worker`` processes (one thread each) on 127.0.0.1.

    Started the first time a test asks for it, shared by the session, stopped at its end:
    nothing is left running. Workers import this checkout (``PYTHONPATH``).
    """
    if not DASK.is_file():
        pytest.skip(f"no dask command beside {sys.executable}")
    logs = tmp_path_factory.mktemp("dask")
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    sched_file = logs / "scheduler.json"
    sched = subprocess.Popen(
        [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--dashboard-address", "127.0.0.1:0",
         "--scheduler-file", str(sched_file)],
        stdout=open(logs / "scheduler.log", "wb"), stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )
    c = Cluster(address="", scheduler=sched, logs=logs, env=env)
    try:
        deadline = time.monotonic() + 60
        while not sched_file.is_file() and time.monotonic() < deadline:
            if sched.poll() is not None:
                pytest.fail(f"dask scheduler exited: {(logs / 'scheduler.log').read_text()[-2000:]}")
            time.sleep(0.1)
        c.address = json.loads(sched_file.read_text())["address"]
        assert c.address.startswith("tcp://127.0.0.1:")
        for _ in range(2):
            c.add_worker()
        from distributed import Client

        with Client(c.address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        yield c
    finally:
        _stop(c.workers + [sched])
        assert all(p.poll() is not None for p in c.workers + [sched])


@pytest.fixture(scope="session")
def small_lfw(tmp_path_factory, lfw):
    """20 LFW photos of 5 people in a folder per identity (session-wide; skips without LFW)."""
    import shutil

    root = tmp_path_factory.mktemp("small_lfw")
    for name in ("Colin_Powell", "Tony_Blair", "George_W_Bush", "Donald_Rumsfeld", "Gerhard_Schroeder"):
        (root / name).mkdir()
        for k in range(1, 5):
            shutil.copy(lfw.image_path(name, k), root / name / f"{k}.jpg")
    return root


@pytest.fixture(scope="session")
def photo_folder(tmp_path_factory, lfw):
    """A flat photo folder with group photos and its truth (:func:`facelab.data.photo_folder.build_photo_folder`):
    3 LFW people, 2 single photos each and 3 group photos of 2-3 of them (session-wide)."""
    from facelab.data.photo_folder import build_photo_folder

    return build_photo_folder(tmp_path_factory.mktemp("photos") / "set", lfw_root=lfw.root,
                              identities=["Colin_Powell", "George_W_Bush", "Tony_Blair"], singles_per_identity=2,
                              n_groups=3, group_sizes=(2, 3), seed=1)


@pytest.fixture(scope="session")
def edgeface_weights():
    """``{name: path}`` of the EdgeFace weight files (SHA-256 verified); skips when they are not found."""
    from facelab.models.weights import WeightsNotFoundError, locate_weights

    try:
        return {n: locate_weights(n) for n in ("edgeface_xs", "edgeface_xxs")}
    except WeightsNotFoundError as exc:
        pytest.skip(f"EdgeFace weights not found ({str(exc).splitlines()[0].removesuffix(' Looked in:')}; "
                    "set FACELAB_WEIGHTS or put ../shared/weights beside the checkout)")


@pytest.fixture(scope="session")
def yunet_weights():
    """``{name: path}`` of the YuNet files (SHA-256 verified); skips with where it looked when they are not found."""
    from facelab.models.weights import WeightsNotFoundError, locate_weights

    try:
        return {"yunet_n": locate_weights("yunet_n")}
    except WeightsNotFoundError as exc:
        pytest.skip(f"YuNet weights not found ({str(exc).splitlines()[0].removesuffix(' Looked in:')}; "
                    "set FACELAB_WEIGHTS or put ../shared/weights beside the checkout)")


@pytest.fixture
def no_weights_checkout(tmp_path, monkeypatch):
    """A checkout in tmp with no ``$FACELAB_WEIGHTS``, no ``../shared`` and no ``weights/`` beside it
    (the working directory too), so no weight file is found by accident."""
    from facelab.models.weights import WEIGHTS_ENV_VAR

    checkout = tmp_path / "work" / "checkout"
    checkout.mkdir(parents=True)
    monkeypatch.delenv(WEIGHTS_ENV_VAR, raising=False)
    monkeypatch.delenv("FACELAB_NO_SHARED", raising=False)  # the tmp checkout decides what ../shared holds
    monkeypatch.setattr("facelab.data.datasets.repo_root", lambda: checkout)
    monkeypatch.chdir(checkout)
    return checkout
