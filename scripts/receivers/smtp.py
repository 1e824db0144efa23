"""An SMTP server for the notifiers' tests (scripts/services starts it on loopback): Debian's python3-aiosmtpd,
STARTTLS required before AUTH and mail, AUTH PLAIN/LOGIN against one user, each message it takes written as a
file into the inbox folder (name: arrival order)."""

import argparse
import asyncio
import os
import ssl

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Inbox:
    def __init__(self, folder: str) -> None:
        self.folder = folder
        os.makedirs(folder, exist_ok=True)
        self.count = len(os.listdir(folder))

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.count += 1
        path = os.path.join(self.folder, f"{self.count:06d}.eml")
        with open(path + ".part", "wb") as f:
            f.write(b"X-Envelope-From: " + envelope.mail_from.encode() + b"\r\n")
            f.write(b"X-Envelope-To: " + ",".join(envelope.rcpt_tos).encode() + b"\r\n")
            f.write(envelope.original_content or envelope.content)
        os.replace(path + ".part", path)
        return "250 OK stored"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--inbox", required=True)
    p.add_argument("--auth-file", required=True, help="a file holding user:password")
    a = p.parse_args()
    with open(a.auth_file) as f:
        user, _, password = f.read().strip().partition(":")

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user \
            and auth_data.password.decode() == password
        # handled=False: aiosmtpd answers a refusal with 535 itself (True would leave the client waiting).
        return AuthResult(success=ok, handled=False)

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(a.cert, a.key)
    controller = Controller(
        Inbox(a.inbox),
        hostname="127.0.0.1",
        port=a.port,
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=authenticate,
    )
    controller.start()
    try:
        asyncio.get_event_loop().run_forever()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
