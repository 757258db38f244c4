"""How the lab is put together: one settings file, one config folder, one start script, no hosts written in."""

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from vicifast_kit import settings
from vicifast_kit.lab import rootfs

REPO = Path(__file__).resolve().parent.parent
DOCKER = REPO / "docker"


def test_environment_variables_override_lab_env(monkeypatch):
    monkeypatch.setenv("ARI_PASSWORD", "from-the-environment")
    monkeypatch.setenv("ARI_URL", "http://127.0.0.1:9999/")
    s = settings.load()
    assert s.ari_password == "from-the-environment"
    assert s.ari_url == "http://127.0.0.1:9999"
    assert s.ari_user == settings.read_env_file(DOCKER / "lab.env")["ARI_USER"]
    assert "from-the-environment" not in repr(s)


def test_every_placeholder_of_the_config_is_a_lab_setting_the_start_script_renders():
    placeholders = set()
    for conf in (DOCKER / "asterisk").glob("*.conf"):
        placeholders |= set(re.findall(r"@([A-Z_]+)@", conf.read_text()))
    rendered_by_script = set(re.search(r'names="([^"]+)"', (DOCKER / "start-asterisk.sh").read_text()).group(1).split())
    assert placeholders == rendered_by_script
    assert rendered_by_script <= set(settings.read_env_file(DOCKER / "lab.env")) | set(settings.SECRET_NAMES)
    assert rendered_by_script <= set(settings.lab_values())


def test_the_running_lab_uses_the_rendered_config_with_no_placeholder_left():
    rendered = rootfs.root_dir() / "etc/vicifast-asterisk"
    files = {path.name for path in rendered.glob("*.conf")}
    assert files == {path.name for path in (DOCKER / "asterisk").glob("*.conf")}
    for path in rendered.glob("*.conf"):
        assert "@" not in re.sub(r"[\w.-]+@[\w.-]+", "", path.read_text()), path.name
    assert f"password = {settings.lab_values()['ARI_PASSWORD']}" in (rendered / "ari.conf").read_text()


def test_the_debian_mirror_comes_from_the_hosts_apt_sources(monkeypatch):
    host_uris = set()
    for path in Path("/etc/apt").glob("sources.list.d/*.sources"):
        host_uris |= set(re.findall(r"^URIs:\s*(\S+)", path.read_text(), re.M))
    for path in [Path("/etc/apt/sources.list"), *Path("/etc/apt").glob("sources.list.d/*.list")]:
        if path.exists():
            host_uris |= set(re.findall(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)", path.read_text(), re.M))
    assert rootfs.debian_mirror() in host_uris
    assert "security" not in rootfs.debian_mirror()
    monkeypatch.setenv("VICIFAST_DEBIAN_MIRROR", "http://mirror.example/debian")
    assert rootfs.debian_mirror() == "http://mirror.example/debian"


def test_the_cached_root_filesystem_is_keyed_by_the_package_list(monkeypatch):
    current = rootfs.root_dir()
    assert (current / "usr/sbin/asterisk").exists()
    monkeypatch.setattr(rootfs, "packages", lambda: ["asterisk", "sipp"])
    assert rootfs.root_dir() != current
    assert rootfs.root_dir().parent == current.parent


def test_no_package_registry_host_is_written_in_the_repo():
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    pattern = re.compile(r"deb\.debian\.org|snapshot\.debian|pypi\.org|pythonhosted|registry\.npmjs")
    this_file = Path(__file__).relative_to(REPO).as_posix()   # it names the hosts to look for
    offenders = [name for name in tracked if name != this_file and (REPO / name).is_file()
                 and pattern.search((REPO / name).read_text(errors="ignore"))]
    assert offenders == []


def test_docker_and_the_rootfs_lab_share_packages_config_and_start_script():
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert "COPY docker/packages.txt" in dockerfile and "xargs apt-get install" in dockerfile
    assert "COPY docker/asterisk /opt/vicifast/asterisk" in dockerfile
    assert "COPY docker/start-asterisk.sh /opt/vicifast/start-asterisk.sh" in dockerfile
    assert 'CMD ["/opt/vicifast/start-asterisk.sh"]' in dockerfile
    assert "core waitfullybooted" in dockerfile
    assert rootfs.INSIDE_DIR == "/opt/vicifast"
    assert re.search(r"^FROM debian:sid", dockerfile, re.M)
    assert rootfs.SUITE == "sid"
    # Asterisk drops root for the asterisk user in both paths.
    assert "runuser = asterisk" in (DOCKER / "asterisk/asterisk.conf").read_text()


def test_compose_publishes_only_on_localhost_and_takes_settings_from_lab_env():
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"asterisk", "jupyter"}
    for service in services.values():
        for port in service["ports"]:
            assert port.startswith("127.0.0.1:"), port
    assert services["asterisk"]["build"]["target"] == "asterisk"
    assert services["asterisk"]["environment"]["ARI_PASSWORD"] == "${ARI_PASSWORD}"
    assert services["jupyter"]["environment"]["JUPYTER_TOKEN"].startswith("${JUPYTER_TOKEN")
    assert "../notebooks:/home/jovyan/notebooks" in services["jupyter"]["volumes"]
    assert services["jupyter"]["depends_on"]["asterisk"]["condition"] == "service_healthy"
    assert (DOCKER / ".env").resolve() == (DOCKER / "lab.env").resolve()


def test_compose_file_is_valid_for_docker_compose():
    result = subprocess.run(["docker", "compose", "version"], capture_output=True)
    if result.returncode != 0:
        pytest.skip("the Docker Compose plugin is not installed here")
    config = subprocess.run(["docker", "compose", "-f", str(DOCKER / "compose.yaml"), "config", "--quiet"],
                            capture_output=True, text=True)
    assert config.returncode == 0, config.stderr
