"""A vendor's system elsewhere reaches the harness at addresses other than the ones it listens on — the far
end of the SSH tunnel the CI templates open, a reverse proxy. `--callback-url` and `--psrm-url` tell the
vendor those; here a TCP forwarder plays the tunnel, and the vendor's system is configured with its
addresses only, as the CI templates' vendor configures its system with the relay's."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from typer.testing import CliRunner

from harness.cli import app
from harness.servers import ServerThread
from tests.support.misbehaving import AsARealSystem, free_port, vendor_debtor

runner = CliRunner()


class _Tunnel:
    """Forwards every TCP connection on its own port to 127.0.0.1:`target`, counting them."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.connections = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            self.connections += 1
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=10)
            except OSError:
                client.close()  # nothing listens behind the tunnel (yet): as ssh does, drop the connection
                continue
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self._closed.set()
        self._server.close()


@contextmanager
def _tunnel(target: int) -> Iterator[_Tunnel]:
    tunnel = _Tunnel(target)
    try:
        yield tunnel
    finally:
        tunnel.close()


def test_a_vendor_system_that_reaches_the_harness_only_through_a_tunnel_is_certified(tmp_path: Path) -> None:
    psrm_port, callback_port = free_port(), free_port()  # where the harness listens (127.0.0.1)
    with _tunnel(psrm_port) as psrm_tunnel, _tunnel(callback_port) as callback_tunnel:
        system = vendor_debtor(  # configured with the tunnel's addresses alone
            "eg", psrm_port=psrm_tunnel.port, callback_port=callback_tunnel.port, callback_token="vendor-secret"
        )
        with ServerThread(AsARealSystem(system), name="vendor-eg", log_level="critical") as debtor:
            result = runner.invoke(
                app,
                [
                    "certify",
                    "--profile",
                    "eg",
                    "--debtor-url",
                    debtor.url,
                    "--psrm-port",
                    str(psrm_port),
                    "--callback-port",
                    str(callback_port),
                    "--psrm-url",
                    f"http://127.0.0.1:{psrm_tunnel.port}",
                    "--callback-url",
                    f"http://127.0.0.1:{callback_tunnel.port}",
                    "--max-examples",
                    "2",
                    "--out",
                    str(tmp_path),
                ],
                env={"OIR_CALLBACK_TOKEN": "vendor-secret", "OIR_DEBTOR_TOKEN": "oir-dev-token", "COLUMNS": "200"},
            )
    assert result.exit_code == 0, result.output
    # the vendor is told the tunnel's addresses, not the ones the harness listens on
    assert f"PSRM URL:            http://127.0.0.1:{psrm_tunnel.port}" in result.output
    assert f"callback (fagsystem) http://127.0.0.1:{callback_tunnel.port}" in result.output
    assert callback_tunnel.connections > 0  # the vendor's callbacks came through the tunnel
    results = json.loads((tmp_path / "eg" / "results.json").read_text())
    runs = {run["scenario"]: run["status"] for run in results["scenarios"]["runs"]}
    assert runs["annulment-closes-the-account"] == "passed"  # KONTO_LUKKET reached FBS through it
