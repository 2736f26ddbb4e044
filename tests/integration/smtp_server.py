"""A real SMTP server for the email delivery tests: Debian's aiosmtpd in a thread of the test
process, on 127.0.0.1, with optional STARTTLS (a throwaway CA's certificate, helpers.make_tls_files)
and AUTH (LOGIN and PLAIN, checking one username and password, only over TLS), and fault
injection: a temporary 451 for the first N messages, or a permanent 550 for every recipient.

Every received message is kept as bytes (and parsed with the standard library's email module by
the tests); every MAIL, RCPT and DATA is counted, so a test can count the attempts.
"""

from __future__ import annotations

import email
import email.policy
import ssl
import threading
from pathlib import Path
from typing import NamedTuple, Optional

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

import helpers


class Received(NamedTuple):
    mail_from: str
    rcpt_tos: list
    data: bytes          # the message as it arrived (dot-stuffing undone by the server)
    tls: bool            # the session was encrypted when the message was sent
    user: Optional[str]  # who authenticated, None without AUTH

    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)


class _Handler:
    def __init__(self, tempfail_first: int, reject_rcpt: Optional[str]):
        self.lock = threading.Lock()
        self.tempfail_first = tempfail_first
        self.reject_rcpt = reject_rcpt
        self.received: list = []
        self.mail_commands = 0
        self.rcpt_commands = 0
        self.data_commands = 0
        self.auth_attempts: list = []  # (mechanism, username, accepted)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        with self.lock:
            self.mail_commands += 1
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            self.rcpt_commands += 1
        if self.reject_rcpt:
            return self.reject_rcpt
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.data_commands += 1
            if self.data_commands <= self.tempfail_first:
                return "451 4.3.0 try again later"
            user = None
            if session.authenticated and isinstance(session.auth_data, LoginPassword):
                user = session.auth_data.login.decode()
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                          bytes(envelope.original_content or envelope.content),
                                          session.ssl is not None, user))
        return "250 2.0.0 OK: queued"


class SmtpServer:
    """An SMTP server on 127.0.0.1:port until stop().

    tls: helpers.TlsFiles to offer STARTTLS with (and require it before MAIL), or with
    implicit_tls to speak TLS from the first byte (smtps://); None for a plain server without
    STARTTLS. username/password: AUTH required (over TLS only) and checked.
    """

    def __init__(self, tls: Optional[helpers.TlsFiles] = None, username: Optional[str] = None,
                 password: Optional[str] = None, tempfail_first: int = 0,
                 reject_rcpt: Optional[str] = None, implicit_tls: bool = False):
        self.port = helpers.free_port()
        self.handler = _Handler(tempfail_first, reject_rcpt)
        self.username, self.password = username, password
        kwargs = {}
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls.cert_file), str(tls.key_file))
            if implicit_tls:  # smtps: TLS from the first byte
                kwargs.update(ssl_context=context)
            else:
                kwargs.update(tls_context=context, require_starttls=True)
        if username is not None:
            # aiosmtpd counts only STARTTLS as TLS for AUTH; with implicit TLS every byte is
            # encrypted anyway.
            kwargs.update(authenticator=self._authenticate, auth_required=True,
                          auth_require_tls=not implicit_tls)
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                     server_hostname="localhost", **kwargs)
        self.controller.start()
        self.url = f"{'smtps' if implicit_tls else 'smtp'}://127.0.0.1:{self.port}"

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode(errors="replace")
        ok = (user == self.username and
              auth_data.password.decode(errors="replace") == self.password)
        with self.handler.lock:
            self.handler.auth_attempts.append((mechanism, user, ok))
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    @property
    def received(self) -> list:
        with self.handler.lock:
            return list(self.handler.received)

    def counts(self) -> dict:
        with self.handler.lock:
            return {"mail": self.handler.mail_commands, "rcpt": self.handler.rcpt_commands,
                    "data": self.handler.data_commands,
                    "auth": list(self.handler.auth_attempts)}

    def stop(self) -> None:
        self.controller.stop()
