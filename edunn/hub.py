"""``edunn.hub``: load models published as a repository with a ``hubconf.py``, and download
pretrained weights once into a cache (``torch.hub``).

A *hub repository* is a directory (or a GitHub repository, fetched as a zip archive) whose
``hubconf.py`` defines *entrypoints*: public functions that build a model, their docstrings as
help, and an optional ``dependencies`` list of packages that must be importable.

* ``list(github)`` names the entrypoints, ``help(github, model)`` returns one's docstring, and
  ``load(repo_or_dir, model, *args, source='github'|'local', **kwargs)`` calls it.  A GitHub
  repository ``'owner/name[:ref]'`` is downloaded once into ``get_dir()/owner_name_ref``; code from
  an owner not yet trusted is refused unless ``trust_repo=True`` (``'check'`` asks on stdin, as
  PyTorch does).
* ``download_url_to_file(url, dst, hash_prefix)`` downloads atomically: into
  ``dst.<random>.partial``, renamed to ``dst`` only when complete and, given ``hash_prefix``, when
  the file's SHA-256 starts with it; the partial file is removed on any failure.
* ``load_state_dict_from_url(url)`` downloads into ``get_dir()/checkpoints`` unless the file is
  already there, then reads it with :func:`edunn.load` (safetensors: no code runs on loading).

The cache lives in ``$EDUNN_HOME/hub`` (``$EDUNN_HOME`` defaults to ``$XDG_CACHE_HOME/edunn``, that
is ``~/.cache/edunn``) -- edunn's equivalent of ``$TORCH_HOME``; ``set_dir`` overrides it.
Everything goes through :mod:`urllib`, so ``file://`` URLs work as well as ``http(s)://``.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import importlib.util
import json
import os
import re
import shutil
import sys
import tempfile
import uuid
import warnings
import zipfile
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlparse
from urllib.request import Request, urlopen

__all__ = ["download_url_to_file", "get_dir", "help", "list", "load", "load_state_dict_from_url", "set_dir"]

HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")
_TRUSTED_REPO_OWNERS = ("facebookresearch", "facebookincubator", "pytorch", "fairinternal")
ENV_GITHUB_TOKEN = "GITHUB_TOKEN"
ENV_EDUNN_HOME = "EDUNN_HOME"
ENV_XDG_CACHE_HOME = "XDG_CACHE_HOME"
DEFAULT_CACHE_DIR = "~/.cache"
VAR_DEPENDENCY = "dependencies"
MODULE_HUBCONF = "hubconf.py"
READ_DATA_CHUNK = 128 * 1024
# Where GitHub's pages and API live (tests point these at a local server).
GITHUB_URL = "https://github.com"
GITHUB_API_URL = "https://api.github.com"

_hub_dir: str | None = None
_PATH_SEP_PATTERN = r"[/\\]"


# ----------------------------------------------------------------------------------------------
# the cache directory
# ----------------------------------------------------------------------------------------------
def _get_edunn_home() -> str:
    return os.path.expanduser(os.getenv(ENV_EDUNN_HOME, os.path.join(os.getenv(ENV_XDG_CACHE_HOME, DEFAULT_CACHE_DIR),
                                                                      "edunn")))


def get_dir() -> str:
    r"""The hub cache directory: what :func:`set_dir` set, else ``$EDUNN_HOME/hub``."""
    if _hub_dir is not None:
        return _hub_dir
    return os.path.join(_get_edunn_home(), "hub")


def set_dir(d: str | os.PathLike) -> None:
    r"""Use ``d`` as the hub cache directory from now on."""
    global _hub_dir
    _hub_dir = os.path.expanduser(d)


# ----------------------------------------------------------------------------------------------
# downloading
# ----------------------------------------------------------------------------------------------
try:
    from tqdm import tqdm
except ImportError:  # tqdm is optional (the lessons extra): a minimal progress report instead
    class tqdm:  # type: ignore[no-redef]
        """What ``torch.hub`` falls back to without tqdm: bytes done, written to stderr."""

        def __init__(self, total: int | None = None, disable: bool = False, unit: Any = None,
                     unit_scale: Any = None, unit_divisor: Any = None) -> None:
            self.total, self.disable, self.n = total, disable, 0

        def update(self, n: int) -> None:
            if self.disable:
                return
            self.n += n
            done = f"{100 * self.n / float(self.total):.1f}%" if self.total else f"{self.n} bytes"
            sys.stderr.write(f"\r{done}")

        def __enter__(self) -> "tqdm":
            return self

        def __exit__(self, *exc: Any) -> None:
            if not self.disable:
                sys.stderr.write("\n")


def download_url_to_file(url: str, dst: str, hash_prefix: str | None = None, progress: bool = True) -> None:
    r"""Download ``url`` to the local path ``dst``, atomically.

    The bytes go to ``dst + '.<uuid>.partial'``; only a complete download whose SHA-256 hex
    digest starts with ``hash_prefix`` (when given) is moved to ``dst``.  Whatever fails, the
    partial file is removed and ``dst`` is untouched.
    """
    dst = os.path.expanduser(dst)
    for _ in range(tempfile.TMP_MAX):
        tmp_dst = dst + "." + uuid.uuid4().hex + ".partial"
        try:
            f = open(tmp_dst, "x+b")  # noqa: SIM115  (closed in finally)
        except FileExistsError:
            continue
        break
    else:
        raise FileExistsError(errno.EEXIST, "No usable temporary file name found")
    req = Request(url, headers={"User-Agent": "edunn.hub"})
    try:
        with urlopen(req) as u:
            length = u.info().get_all("Content-Length")
            file_size = int(length[0]) if length else None
            sha256 = hashlib.sha256() if hash_prefix is not None else None
            with tqdm(total=file_size, disable=not progress, unit="B", unit_scale=True, unit_divisor=1024) as pbar:
                while True:
                    buffer = u.read(READ_DATA_CHUNK)
                    if len(buffer) == 0:
                        break
                    f.write(buffer)
                    if sha256 is not None:
                        sha256.update(buffer)
                    pbar.update(len(buffer))
            f.close()
            if sha256 is not None:
                digest = sha256.hexdigest()
                if digest[:len(hash_prefix)] != hash_prefix:
                    raise RuntimeError(f'invalid hash value (expected "{hash_prefix}", got "{digest}")')
        shutil.move(f.name, dst)
    finally:
        f.close()
        if os.path.exists(f.name):
            os.remove(f.name)


def load_state_dict_from_url(url: str, model_dir: str | None = None, map_location: Any = None, progress: bool = True,
                             check_hash: bool = False, file_name: str | None = None,
                             weights_only: bool = False) -> dict[str, Any]:
    r"""The object saved at ``url``, downloaded into ``model_dir`` (default
    ``get_dir()/checkpoints``) unless a file of that name is already there, and read with
    :func:`edunn.load`.  With ``check_hash`` the file name's ``-<hex>.`` part (e.g.
    ``resnet18-5c106cde.pth``) must prefix the file's SHA-256.  ``weights_only`` is accepted
    for compatibility: edunn's format holds only tensors and plain values anyway."""
    from .serialization import load as _load
    if model_dir is None:
        model_dir = os.path.join(get_dir(), "checkpoints")
    os.makedirs(model_dir, exist_ok=True)
    filename = file_name if file_name is not None else os.path.basename(urlparse(url).path)
    cached_file = os.path.join(model_dir, filename)
    if not os.path.exists(cached_file):
        sys.stdout.write(f'Downloading: "{url}" to {cached_file}\n')
        hash_prefix = None
        if check_hash:
            r = HASH_REGEX.search(filename)
            hash_prefix = r.group(1) if r else None
        download_url_to_file(url, cached_file, hash_prefix, progress=progress)
    if _is_legacy_zip_format(cached_file):
        return _legacy_zip_load(cached_file, model_dir, map_location)
    return _load(cached_file, map_location=map_location, weights_only=weights_only)


def _is_legacy_zip_format(filename: str) -> bool:
    """A zip holding exactly one file: how checkpoints were published before PyTorch 1.6."""
    if zipfile.is_zipfile(filename):
        with zipfile.ZipFile(filename) as zf:
            infolist = zf.infolist()
        return len(infolist) == 1 and not infolist[0].is_dir()
    return False


def _legacy_zip_load(filename: str, model_dir: str, map_location: Any) -> dict[str, Any]:
    from .serialization import load as _load
    warnings.warn("Falling back to the old format < 1.6. This support will be deprecated in favor of default "
                  "zipfile format introduced in 1.6. Please redo torch.save() to save it in the new zipfile "
                  "format.", FutureWarning, stacklevel=3)
    with zipfile.ZipFile(filename) as f:
        members = f.infolist()
        _safe_extract_zip(f, model_dir)
        extracted_file = os.path.join(model_dir, members[0].filename)
    return _load(extracted_file, map_location=map_location)


def _safe_extract_zip(zip_file: zipfile.ZipFile, extract_to: str) -> None:
    """Extract, refusing entries with absolute paths or ``..`` that would land outside."""
    target = Path(extract_to).resolve(strict=False)
    for member in zip_file.infolist():
        filename = os.path.normpath(member.filename)
        if filename.startswith(("/", "\\")) or (len(filename) >= 2 and filename[1] == ":" and filename[0].isalpha()):
            raise ValueError(f"Archive entry has absolute path: {member.filename}")
        if ".." in re.split(_PATH_SEP_PATTERN, filename):
            raise ValueError(f"Archive entry contains directory traversal: {member.filename}")
        if not (target / filename).resolve(strict=False).is_relative_to(target):
            raise ValueError(f"Archive entry escapes target directory: {member.filename}")
        zip_file.extract(member, target)


# ----------------------------------------------------------------------------------------------
# repositories
# ----------------------------------------------------------------------------------------------
def _read_url(url: Any) -> str:
    with urlopen(url) as r:
        return r.read().decode(r.headers.get_content_charset("utf-8"))


def _parse_repo_info(github: str) -> tuple[str, str, str]:
    """``'owner/name[:ref]'`` -> (owner, name, ref); without a ref, ``main`` if that branch
    exists, else ``master`` (offline: whichever is cached)."""
    repo_info, ref = github.split(":") if ":" in github else (github, None)
    repo_owner, repo_name = repo_info.split("/")
    if ref is None:
        try:
            with urlopen(f"{GITHUB_URL}/{repo_owner}/{repo_name}/tree/main/"):
                ref = "main"
        except HTTPError as e:
            if e.code != 404:
                raise
            ref = "master"
        except URLError as e:
            for possible_ref in ("main", "master"):
                if os.path.exists(f"{get_dir()}/{repo_owner}_{repo_name}_{possible_ref}"):
                    ref = possible_ref
                    break
            if ref is None:
                raise RuntimeError("It looks like there is no internet connection and the "
                                   f"repo could not be found in the cache ({get_dir()})") from e
    return repo_owner, repo_name, ref


def _check_repo_is_trusted(repo_owner: str, repo_name: str, owner_name_branch: str, trust_repo: Any) -> None:
    """Refuse code from an owner not in ``get_dir()/trusted_list`` (or already downloaded, or
    one of PyTorch's own) unless ``trust_repo=True`` or the user says yes when asked."""
    hub_dir = get_dir()
    filepath = os.path.join(hub_dir, "trusted_list")
    if not os.path.exists(filepath):
        Path(filepath).touch()
    with open(filepath) as file:
        trusted_repos = tuple(line.strip() for line in file)
    trusted_repos_legacy = next(os.walk(hub_dir))[1]
    owner_name = "_".join([repo_owner, repo_name])
    is_trusted = (owner_name in trusted_repos or owner_name_branch in trusted_repos_legacy
                  or repo_owner in _TRUSTED_REPO_OWNERS)
    if (trust_repo is False) or (trust_repo == "check" and not is_trusted):
        response = input(
            f"The repository {owner_name} does not belong to the list of trusted repositories and as such cannot "
            "be downloaded. Do you trust this repository and wish to add it to the trusted list of repositories "
            "(y/N)?")
        if response.lower() in ("y", "yes"):
            if is_trusted:
                print("The repository is already trusted.")
        elif response.lower() in ("n", "no", ""):
            raise Exception("Untrusted repository.")
        else:
            raise ValueError(f"Unrecognized response {response}.")
    if not is_trusted:
        with open(filepath, "a") as file:
            file.write(owner_name + "\n")


def _validate_not_a_forked_repo(repo_owner: str, repo_name: str, ref: str) -> None:
    """``ref`` must be a branch, tag or commit of the repository itself (GitHub's API)."""
    headers = {"Accept": "application/vnd.github.v3+json"}
    token = os.environ.get(ENV_GITHUB_TOKEN)
    if token is not None:
        headers["Authorization"] = f"token {token}"
    for url_prefix in (f"{GITHUB_API_URL}/repos/{repo_owner}/{repo_name}/branches",
                       f"{GITHUB_API_URL}/repos/{repo_owner}/{repo_name}/tags"):
        page = 0
        while True:
            page += 1
            url = f"{url_prefix}?per_page=100&page={page}"
            try:
                response = json.loads(_read_url(Request(url, headers=headers)))
            except HTTPError:
                headers.pop("Authorization", None)  # retry without a token of too little permission
                response = json.loads(_read_url(Request(url, headers=headers)))
            if not response:
                break
            for br in response:
                if br["name"] == ref or br["commit"]["sha"].startswith(ref):
                    return
    raise ValueError(f"Cannot find {ref} in https://github.com/{repo_owner}/{repo_name}. "
                     "If it's a commit from a forked repo, please call hub.load() with forked repo directly.")


def _get_cache_or_reload(github: str, force_reload: bool, trust_repo: Any, verbose: bool = True,
                         skip_validation: bool = False) -> str:
    """The local directory of ``github``: the cached copy, or a fresh download of its zip."""
    hub_dir = get_dir()
    os.makedirs(hub_dir, exist_ok=True)
    repo_owner, repo_name, ref = _parse_repo_info(github)
    normalized_br = ref.replace("/", "_")
    owner_name_branch = "_".join([repo_owner, repo_name, normalized_br])
    repo_dir = os.path.join(hub_dir, owner_name_branch)
    _check_repo_is_trusted(repo_owner, repo_name, owner_name_branch, trust_repo=trust_repo)
    if not force_reload and os.path.exists(repo_dir):
        if verbose:
            sys.stderr.write(f"Using cache found in {repo_dir}\n")
        return repo_dir
    if not skip_validation:
        _validate_not_a_forked_repo(repo_owner, repo_name, ref)
    cached_file = os.path.join(hub_dir, normalized_br + ".zip")
    _remove_if_exists(cached_file)
    url = f"{GITHUB_URL}/{repo_owner}/{repo_name}/zipball/{ref}"
    sys.stdout.write(f'Downloading: "{url}" to {cached_file}\n')
    download_url_to_file(url, cached_file, progress=False)
    with zipfile.ZipFile(cached_file) as cached_zipfile:
        extracted_repo = os.path.join(hub_dir, cached_zipfile.infolist()[0].filename)
        _remove_if_exists(extracted_repo)
        _safe_extract_zip(cached_zipfile, hub_dir)
    _remove_if_exists(cached_file)
    _remove_if_exists(repo_dir)
    shutil.move(extracted_repo, repo_dir)
    return repo_dir


def _remove_if_exists(path: str) -> None:
    if os.path.exists(path):
        if os.path.isfile(path):
            os.remove(path)
        else:
            shutil.rmtree(path)


@contextlib.contextmanager
def _add_to_sys_path(path: str):
    sys.path.insert(0, path)
    try:
        yield
    finally:
        sys.path.remove(path)


def _import_module(name: str, path: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise AssertionError(f"failed to load spec from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _hubconf(repo_dir: str) -> Any:
    with _add_to_sys_path(repo_dir):
        return _import_module(MODULE_HUBCONF, os.path.join(repo_dir, MODULE_HUBCONF))


def _load_entry_from_hubconf(m: Any, model: Any) -> Any:
    if not isinstance(model, str):
        raise ValueError("Invalid input: model should be a string of function name")
    dependencies = getattr(m, VAR_DEPENDENCY, None)
    if dependencies is not None:
        missing = [pkg for pkg in dependencies if importlib.util.find_spec(pkg) is None]
        if missing:
            raise RuntimeError(f"Missing dependencies: {', '.join(missing)}")
    func = getattr(m, model, None) if model in dir(m) else None
    if func is None or not callable(func):
        raise RuntimeError(f"Cannot find callable {model} in hubconf")
    return func


def list(github, force_reload=False, skip_validation=False, trust_repo="check", verbose=True):  # noqa: A001
    r"""The entrypoints (public callables) of ``github``'s ``hubconf.py``."""
    hub_module = _hubconf(_get_cache_or_reload(github, force_reload, trust_repo, verbose=verbose,
                                               skip_validation=skip_validation))
    return [f for f in dir(hub_module) if callable(getattr(hub_module, f)) and not f.startswith("_")]


def help(github, model, force_reload=False, skip_validation=False, trust_repo="check"):  # noqa: A001
    r"""The docstring of entrypoint ``model`` of ``github``'s ``hubconf.py``."""
    hub_module = _hubconf(_get_cache_or_reload(github, force_reload, trust_repo, verbose=True,
                                               skip_validation=skip_validation))
    return _load_entry_from_hubconf(hub_module, model).__doc__


def load(repo_or_dir, model, *args, source="github", trust_repo="check", force_reload=False, verbose=True,
         skip_validation=False, **kwargs):
    r"""``model(*args, **kwargs)`` from the ``hubconf.py`` of a GitHub repository
    (``source='github'``, ``repo_or_dir='owner/name[:ref]'``) or a local directory
    (``source='local'``)."""
    source = source.lower()
    if source not in ("github", "local"):
        raise ValueError(f'Unknown source: "{source}". Allowed values: "github" | "local".')
    if source == "github":
        repo_or_dir = _get_cache_or_reload(repo_or_dir, force_reload, trust_repo, verbose=verbose,
                                           skip_validation=skip_validation)
    with _add_to_sys_path(repo_or_dir):
        hub_module = _import_module(MODULE_HUBCONF, os.path.join(repo_or_dir, MODULE_HUBCONF))
        return _load_entry_from_hubconf(hub_module, model)(*args, **kwargs)
