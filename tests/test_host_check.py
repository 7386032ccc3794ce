"""Issue 17, defect 3: a real ``streamlit run app.py`` answers only requests that name this machine (or a host
the user allowed), for plain HTTP and for the WebSocket handshake: DNS rebinding gets 403, not the app."""

from __future__ import annotations

import base64
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ui.host_check import ALLOWED_HOSTS_ENV, allowed_hosts, origin_allowed

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_status(port: int, host: str, path: str = "/_stcore/health") -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_host=True)
        conn.putheader("Host", host)
        conn.endheaders()
        return conn.getresponse().status
    finally:
        conn.close()


def websocket_status(port: int, host: str, origin: str | None = None) -> str:
    """The status line the server answers a WebSocket handshake with; Origin matches the Host (as a rebinding
    page's browser would send it) unless ``origin`` is given."""
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET /_stcore/stream HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: {origin or 'http://' + host}\r\n"
               f"Sec-WebSocket-Protocol: streamlit\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request.encode())
        return sock.recv(4096).split(b"\r\n", 1)[0].decode()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    env = dict(os.environ, RECEIPT_STUDIO_HOME=str(tmp_path_factory.mktemp("ws")), PYTHONUNBUFFERED="1",
               **{ALLOWED_HOSTS_ENV: "demo.example.lan"})
    log = tmp_path_factory.mktemp("log") / "server.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "streamlit"), "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if http_status(port, f"127.0.0.1:{port}") == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server did not come up:\n{log.read_text()}")
            time.sleep(0.3)
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.mark.parametrize("host", ["rebind.evil.example:8501", "rebind.evil.example", "127.0.0.1.evil.example",
                                  "localhost.evil.example:8501", "evil.demo.example.lan"])
def test_a_foreign_host_is_refused_for_http_and_the_websocket(server, host):
    assert http_status(server, host) == 403
    assert http_status(server, host, "/") == 403
    assert websocket_status(server, host) == "HTTP/1.1 403 Forbidden"


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]", "demo.example.lan"])
def test_loopback_and_configured_hosts_reach_the_app(server, host):
    assert http_status(server, f"{host}:{server}") == 200
    assert http_status(server, f"{host}:{server}", "/") == 200
    assert websocket_status(server, f"{host}:{server}") == "HTTP/1.1 101 Switching Protocols"


def test_no_other_site_may_frame_the_app(server):
    for path in ("/", "/_stcore/health", "/train"):
        conn = http.client.HTTPConnection("127.0.0.1", server, timeout=10)
        try:
            conn.request("GET", path, headers={"Host": f"localhost:{server}"})
            response = conn.getresponse()
            assert response.status == 200, path
            assert response.getheader("X-Frame-Options") == "SAMEORIGIN", path
            assert response.getheader("Content-Security-Policy") == "frame-ancestors 'self'", path
            # a probe: no nosniff anywhere (a served file could be run as the type a browser guessed)
            assert response.getheader("X-Content-Type-Options") == "nosniff", path
            assert response.getheader("Referrer-Policy") == "same-origin", path
        finally:
            conn.close()


def test_the_servers_metrics_endpoint_is_not_served(server):
    """A probe read /_stcore/metrics (cache names, session counts, timings) on a demo served to a LAN."""
    assert http_status(server, f"localhost:{server}", "/_stcore/metrics") == 404
    assert http_status(server, f"localhost:{server}", "/_stcore/metrics/") == 404
    assert http_status(server, f"localhost:{server}", "/_stcore/health") == 200

def test_a_page_address_typed_as_streamlit_does_not_serve_it_is_redirected(server):
    """A walkthrough's /home (Home is served at /) and /Train opened a "Page not found" dialog over an inert page."""
    from ui.page_paths import canonical_page_path

    assert [canonical_page_path(p) for p in ("/home", "/Home/", "/Train", "/train/", "/train", "/", "/trains",
                                             "/_stcore/health", "/static/x.js")] == [
        "/", "/", "/train", "/train", None, None, None, None, None]
    # a stray character from a pasted link (a probe's "/train%20", "/Train%09", "/train%C2%A0", "/train.",
    # "/train;x" and fullwidth letters each opened "Page not found")
    assert [canonical_page_path(p) for p in ("/train ", "/Train\t", "/train\xa0", "/train.", "/train;x",
                                             "/\uff54\uff52\uff41\uff49\uff4e", "/home.", "/tr ain",
                                             "/train\u3002", "/train\u200b")] == [
        "/train", "/train", "/train", "/train", "/train", "/train", "/", None, "/train", "/train"]
    for path, location in (("/home", "/"), ("/Train?dataset=demo", "/train?dataset=demo"), ("/train%20", "/train")):
        conn = http.client.HTTPConnection("127.0.0.1", server, timeout=10)
        try:
            conn.request("GET", path, headers={"Host": f"localhost:{server}"})
            response = conn.getresponse()
            assert (response.status, response.getheader("Location")) == (307, location), path
        finally:
            conn.close()
    assert http_status(server, f"localhost:{server}", "/train") == 200
    assert http_status(server, "evil.example", "/home") == 403  # the host check comes first


def test_the_allowed_hosts_setting_is_checked():
    assert allowed_hosts({}) == ["localhost", "127.0.0.1", "[::1]"]
    assert allowed_hosts({ALLOWED_HOSTS_ENV: " Demo.Example.lan , *.corp.example,"})[3:] == [
        "demo.example.lan", "*.corp.example"]
    for bad in ("*", "http://x.example", "x.example:8501", "a b"):
        with pytest.raises(ValueError, match=ALLOWED_HOSTS_ENV):
            allowed_hosts({ALLOWED_HOSTS_ENV: bad})


def test_a_page_on_another_port_of_this_machine_cannot_open_the_live_connection(server):
    """Cookies ignore ports, so a notebook or dev server on this machine would otherwise drive the app, whether
    its page is opened as localhost, 0.0.0.0 or the machine's own address (Streamlit's own check lets the last two
    through on any port)."""
    forbidden = "HTTP/1.1 403 Forbidden"
    assert websocket_status(server, f"localhost:{server}", origin="http://localhost:9999") == forbidden
    assert websocket_status(server, f"127.0.0.1:{server}", origin="http://[::1]:9999") == forbidden
    assert websocket_status(server, f"localhost:{server}", origin="http://0.0.0.0:9999") == forbidden
    assert websocket_status(server, f"localhost:{server}", origin=f"http://{_machine_address()}:9999") == forbidden
    assert websocket_status(server, f"localhost:{server}", origin="https://evil.example") == forbidden
    assert websocket_status(server, f"localhost:{server}",
                            origin=f"http://localhost:{server}") == "HTTP/1.1 101 Switching Protocols"
    assert websocket_status(server, f"127.0.0.1:{server}",
                            origin=f"http://127.0.0.1:{server}") == "HTTP/1.1 101 Switching Protocols"


def _machine_address() -> str:
    """An address of this machine other than loopback (what ``hostname -I`` lists first), or a documentation one."""
    import socket

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            return probe.getsockname()[0]
    except OSError:
        return "192.0.2.2"


def test_the_same_origin_rule():
    assert origin_allowed(None, "localhost:8501")
    assert origin_allowed("null", "localhost:8501")  # Streamlit refuses it itself
    assert origin_allowed("http://localhost:8501", "localhost:8501")
    assert origin_allowed("http://[::1]:8501", "[::1]:8501")
    assert origin_allowed("http://localhost", "localhost")  # default ports on both sides
    assert origin_allowed("https://demo.example.lan", "demo.example.lan")  # a reverse proxy passing Host on
    assert origin_allowed("http://192.168.1.5:8501", "192.168.1.5:8501")  # served to a LAN, opened by address
    # a proxy that rewrites Host: the configured name, on its scheme's default port only
    assert origin_allowed("https://demo.example.lan", "localhost:8501", ["localhost", "demo.example.lan"])
    assert origin_allowed("https://a.corp.example", "localhost:8501", ["*.corp.example"])
    assert not origin_allowed("https://demo.example.lan:9999", "localhost:8501", ["demo.example.lan"])
    # nginx's `proxy_set_header Host $host` drops the port of a proxy listening on 8080
    assert origin_allowed("http://demo.example.lan:8080", "demo.example.lan", ["localhost", "demo.example.lan"])
    assert not origin_allowed("http://demo.example.lan:8080", "demo.example.lan")  # only a configured name
    assert not origin_allowed("https://corp.example.evil", "localhost:8501", ["*.corp.example"])
    assert not origin_allowed("http://localhost", "localhost:8501", ["localhost"])  # loopback names need the port
    assert not origin_allowed("http://localhost:8501", "127.0.0.1:8501")  # another origin, though the same server
    assert not origin_allowed("http://localhost:9999", "localhost:8501")
    assert not origin_allowed("http://0.0.0.0:9999", "localhost:8501")
    assert not origin_allowed("http://192.168.1.5:9999", "localhost:8501")
    assert not origin_allowed("http://192.168.1.5:9999", "192.168.1.5:8501")
    assert not origin_allowed("https://evil.example", "localhost:8501")
    assert not origin_allowed("http://localhost:8501", "demo.example.lan")
    assert not origin_allowed("http://localhost:99999", "localhost:8501")  # not a port at all
    assert not origin_allowed("garbage", "localhost:8501")
