"""``edunn.hub`` and ``edunn.utils.model_zoo``, offline: a local ``hubconf.py`` directory, a fake
GitHub (zip archive, branch API) and weight files served by ``http.server`` on 127.0.0.1 in a
thread; downloads compared with torch.hub's on the same server."""
import hashlib
import http.server
import io
import json
import os
import threading
import zipfile

import pytest

import edunn
from edunn import hub
from opcheck import needs_torch, torch

pytestmark = pytest.mark.lesson19

HUBCONF = '''
dependencies = ["math"]
import edunn


def tiny(n_in=2, bias=True):
    """A one-layer model: Linear(n_in, 1)."""
    return edunn.nn.Linear(n_in, 1, bias=bias)


def _helper():
    return None
'''


class _Server:
    """Serves ``files`` (path -> bytes) and counts requests."""

    def __init__(self):
        self.files, self.hits = {}, []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.hits.append(self.path)
                body = server.files.get(self.path)
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = _Server()
    yield s
    s.close()


@pytest.fixture
def hub_dir(tmp_path):
    old = hub._hub_dir
    hub.set_dir(str(tmp_path / "hub"))
    yield tmp_path / "hub"
    hub._hub_dir = old


def test_get_dir_follows_edunn_home(monkeypatch, tmp_path):
    monkeypatch.setattr(hub, "_hub_dir", None)
    monkeypatch.setenv("EDUNN_HOME", str(tmp_path / "home"))
    assert hub.get_dir() == os.path.join(str(tmp_path / "home"), "hub")
    monkeypatch.delenv("EDUNN_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert hub.get_dir() == os.path.join(str(tmp_path / "xdg"), "edunn", "hub")
    hub.set_dir(str(tmp_path / "elsewhere"))
    assert hub.get_dir() == str(tmp_path / "elsewhere")


def test_local_load_and_errors(tmp_path):
    (tmp_path / "hubconf.py").write_text(HUBCONF)
    model = hub.load(str(tmp_path), "tiny", 3, source="local", bias=False)
    assert isinstance(model, edunn.nn.Linear) and model.weight.shape == (1, 3) and model.bias is None
    with pytest.raises(RuntimeError, match="Cannot find callable nothing in hubconf"):
        hub.load(str(tmp_path), "nothing", source="local")
    with pytest.raises(ValueError, match='Unknown source: "ftp"'):
        hub.load(str(tmp_path), "tiny", source="ftp")
    (tmp_path / "hubconf.py").write_text(HUBCONF.replace('["math"]', '["math", "no_such_package_xyz"]'))
    with pytest.raises(RuntimeError, match="Missing dependencies: no_such_package_xyz"):
        hub.load(str(tmp_path), "tiny", source="local")


def _fake_github(server, ref="main"):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("someone-models-abc123/", "")  # GitHub's archives list the folder first
        z.writestr("someone-models-abc123/hubconf.py", HUBCONF)
    server.files[f"/someone/models/zipball/{ref}"] = buf.getvalue()
    server.files["/someone/models/tree/main/"] = b"ok"
    server.files["/api/repos/someone/models/branches?per_page=100&page=1"] = json.dumps(
        [{"name": "main", "commit": {"sha": "abc123"}}]).encode()
    server.files["/api/repos/someone/models/branches?per_page=100&page=2"] = b"[]"
    server.files["/api/repos/someone/models/tags?per_page=100&page=1"] = b"[]"


def test_github_list_help_load_with_trust_and_cache(server, hub_dir, monkeypatch, capsys):
    monkeypatch.setattr(hub, "GITHUB_URL", server.url)
    monkeypatch.setattr(hub, "GITHUB_API_URL", server.url + "/api")
    _fake_github(server)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    with pytest.raises(Exception, match="Untrusted repository"):
        hub.list("someone/models")
    assert hub.list("someone/models", trust_repo=True) == ["tiny"]
    assert "someone_models" in (hub_dir / "trusted_list").read_text()
    assert (hub_dir / "someone_models_main" / "hubconf.py").exists()
    downloads = sum("zipball" in h for h in server.hits)
    assert hub.help("someone/models", "tiny") == "A one-layer model: Linear(n_in, 1)."
    model = hub.load("someone/models:main", "tiny", 4, verbose=False)
    assert model.weight.shape == (1, 4)
    assert sum("zipball" in h for h in server.hits) == downloads  # cached
    hub.load("someone/models", "tiny", force_reload=True, skip_validation=True)
    assert sum("zipball" in h for h in server.hits) == downloads + 1
    with pytest.raises(ValueError, match="Cannot find nope"):
        hub.list("someone/models:nope", force_reload=True)


@needs_torch
def test_download_url_to_file_checks_the_hash_like_torch(server, tmp_path):
    payload = os.urandom(300_000)
    digest = hashlib.sha256(payload).hexdigest()
    server.files["/blob.bin"] = payload
    for download in (hub.download_url_to_file, torch.hub.download_url_to_file):
        dst = tmp_path / f"{download.__module__}.bin"
        download(server.url + "/blob.bin", str(dst), hash_prefix=digest[:10], progress=False)
        assert dst.read_bytes() == payload
        bad = tmp_path / f"{download.__module__}-bad.bin"
        with pytest.raises(RuntimeError, match=f'invalid hash value \\(expected "0000", got "{digest}"\\)'):
            download(server.url + "/blob.bin", str(bad), hash_prefix="0000", progress=False)
        assert not bad.exists()
        with pytest.raises(Exception):
            download(server.url + "/missing.bin", str(bad), progress=False)
        assert not bad.exists()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".partial")]
    src = tmp_path / "local.bin"
    src.write_bytes(b"abc")
    hub.download_url_to_file(src.as_uri(), str(tmp_path / "copy.bin"), progress=False)
    assert (tmp_path / "copy.bin").read_bytes() == b"abc"


def test_load_state_dict_from_url_caches(server, hub_dir, tmp_path):
    state = edunn.nn.Linear(3, 2).state_dict()
    path = tmp_path / "w.safetensors"
    edunn.save(state, str(path))
    data = path.read_bytes()
    name = f"linear-{hashlib.sha256(data).hexdigest()[:8]}.safetensors"
    server.files["/" + name] = data
    loaded = hub.load_state_dict_from_url(server.url + "/" + name, check_hash=True, progress=False)
    assert set(loaded) == {"weight", "bias"} and edunn.equal(loaded["weight"], state["weight"])
    assert (hub_dir / "checkpoints" / name).exists()
    hits = len(server.hits)
    again = edunn.utils.model_zoo.load_url(server.url + "/" + name, progress=False)
    assert len(server.hits) == hits and edunn.equal(again["bias"], state["bias"])
    server.files["/bad-0000.safetensors"] = data
    with pytest.raises(RuntimeError, match="invalid hash value"):
        hub.load_state_dict_from_url(server.url + "/bad-0000.safetensors", check_hash=True, progress=False)
    assert not (hub_dir / "checkpoints" / "bad-0000.safetensors").exists()
    other = hub.load_state_dict_from_url(server.url + "/" + name, model_dir=str(tmp_path / "m"),
                                         file_name="renamed.safetensors", progress=False)
    assert (tmp_path / "m" / "renamed.safetensors").exists() and set(other) == {"weight", "bias"}


@needs_torch
def test_signatures_match_torch():
    import inspect

    def params(f):
        return [(p.name, p.default, p.kind) for p in inspect.signature(f).parameters.values()]
    for name in torch.hub.__all__:
        assert params(getattr(hub, name)) == params(getattr(torch.hub, name)), name
    from torch.utils import model_zoo
    assert params(edunn.utils.model_zoo.load_url) == params(model_zoo.load_url)
