"""The gRPC bootstrap every service uses: caller identity, error mapping, health,
reflection, background workers, and graceful shutdown on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Iterable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from servicekit import errors, tracing
from servicekit.auth import Caller, TokenVerifier, bind_caller, unbind_caller
from servicekit.metrics import GrpcMetricsInterceptor
from servicekit.service_keys import SERVICE_HEADER, SERVICE_KEY_HEADER, SERVICE_ROLE, ServiceGrants
from servicekit.stopping import stop_tasks

log = logging.getLogger(__name__)

REASON_METADATA_KEY = "error-reason"
ALWAYS_PUBLIC_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")

_STATUS_BY_ERROR: dict[type[errors.DomainError], grpc.StatusCode] = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
}


def status_for(error: errors.DomainError) -> grpc.StatusCode:
    for cls in type(error).__mro__:
        if cls in _STATUS_BY_ERROR:
            return _STATUS_BY_ERROR[cls]
    return grpc.StatusCode.INTERNAL


def bearer_token(metadata: Iterable[tuple[str, str | bytes]] | None) -> str | None:
    for key, value in metadata or ():
        if key == "authorization" and isinstance(value, str) and value.lower().startswith("bearer "):
            return value[7:].strip()
    return None


def _header(metadata: Iterable[tuple[str, str | bytes]] | None, name: str) -> str:
    return next((value for key, value in metadata or () if key == name and isinstance(value, str)), "")


class CallerInterceptor(grpc.aio.ServerInterceptor):
    """Reads the caller from the bearer token, and turns domain errors into status codes.

    Methods outside `public_methods` need a valid token. A token of an account that must
    change its password is accepted only for `password_change_methods`. A service's key
    (`x-service` and `x-service-key`) stands in for a token only on the methods `service_grants`
    grant that service; its caller has the role "service", which no end-user rule admits.
    """

    def __init__(
        self,
        verifier: TokenVerifier,
        public_methods: Iterable[str] = (),
        password_change_methods: Iterable[str] = (),
        service_grants: ServiceGrants | None = None,
    ) -> None:
        self.verifier = verifier
        self.public_methods = frozenset(public_methods)
        self.password_change_methods = frozenset(password_change_methods)
        self.service_grants = service_grants

    async def intercept_service(self, continuation, handler_call_details):  # type: ignore[no-untyped-def]
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or handler.unary_unary is None or method.startswith(ALWAYS_PUBLIC_PREFIXES):
            return handler
        inner = handler.unary_unary
        public = method in self.public_methods
        allowed_while_changing = method in self.password_change_methods

        async def behavior(request, context: grpc.aio.ServicerContext):  # type: ignore[no-untyped-def]
            try:
                metadata = context.invocation_metadata()
                token = bearer_token(metadata)
                caller = await self.verifier.verify(token) if token else None
                service = _header(metadata, SERVICE_HEADER)
                if caller is None and service:
                    caller = self._service_caller(method, service, _header(metadata, SERVICE_KEY_HEADER))
                if caller is None and not public:
                    raise errors.Unauthenticated("sign in first: this call needs a bearer token")
                if caller and caller.must_change_password and not (public or allowed_while_changing):
                    raise errors.PermissionDenied(
                        "change your initial password first", reason="PASSWORD_CHANGE_REQUIRED"
                    )
                bound = bind_caller(caller, token or "")
                try:
                    return await inner(request, context)
                finally:
                    unbind_caller(bound)
            except errors.DomainError as error:
                if error.reason:
                    context.set_trailing_metadata(((REASON_METADATA_KEY, error.reason),))
                await context.abort(status_for(error), error.message)
            except grpc.aio.AioRpcError as error:
                # A service called on the caller's behalf refused: its status and reason carry through.
                for key, value in error.trailing_metadata() or ():
                    if key == REASON_METADATA_KEY:
                        context.set_trailing_metadata(((REASON_METADATA_KEY, value),))
                await context.abort(error.code(), error.details() or error.code().name)
            except (asyncio.CancelledError, grpc.aio.AbortError):
                raise
            except Exception:
                log.exception("unhandled error in %s", method)
                await context.abort(grpc.StatusCode.INTERNAL, "internal error; it has been logged")

        return grpc.unary_unary_rpc_method_handler(
            behavior,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _service_caller(self, method: str, service: str, key: str) -> Caller:
        if self.service_grants is None or not self.service_grants.authenticate(method, service, key):
            raise errors.Unauthenticated(f"the {service} service's credential is not accepted for this call")
        return Caller(user_id=f"service:{service}", role=SERVICE_ROLE, school_id=None, province_code=None,
                      name=service)


MAX_CONNECTION_AGE_MS = int(os.environ.get("GRPC_MAX_CONNECTION_AGE_SECONDS", "300")) * 1000


class ServiceHost:
    """One service process: a grpc.aio server plus its background workers."""

    def __init__(self, name: str, interceptor: grpc.aio.ServerInterceptor) -> None:
        self.name = name
        self.interceptor = interceptor
        self.server = grpc.aio.server(
            # tracing outermost (its span holds the call's logs), then metrics: they see the final code
            interceptors=[*tracing.server_interceptors(), GrpcMetricsInterceptor(), interceptor],
            options=[
                ("grpc.max_receive_message_length", 64 * 1024 * 1024),
                ("grpc.max_send_message_length", 64 * 1024 * 1024),
                # A client keeps one HTTP/2 connection, and a Kubernetes Service balances connections, not calls:
                # closing each connection after a few minutes (GOAWAY, in-flight calls finish) makes clients
                # reconnect, so replicas an autoscaler adds get their share.
                ("grpc.max_connection_age_ms", MAX_CONNECTION_AGE_MS),
                ("grpc.max_connection_age_grace_ms", 30_000),
            ],
        )
        self.health = health.aio.HealthServicer()
        self.service_names: list[str] = []
        self.workers: list[Callable[[], Awaitable[None]]] = []
        self.on_stop: list[Callable[[], Awaitable[None]]] = []
        self._tasks: list[asyncio.Task] = []
        self.port = 0

    def add_servicer(self, add_to_server: Callable, servicer: object, full_name: str) -> None:
        add_to_server(servicer, self.server)
        self.service_names.append(full_name)

    async def start(self, host: str, port: int) -> int:
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            [*self.service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], self.server
        )
        self.port = self.server.add_insecure_port(f"{host}:{port}")
        await self.server.start()
        for name in [*self.service_names, ""]:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        self._tasks = [asyncio.create_task(self._supervise(worker)) for worker in self.workers]
        log.info("%s listening on %s:%d", self.name, host, self.port)
        return self.port

    async def _supervise(self, worker: Callable[[], Awaitable[None]]) -> None:
        while True:  # a worker that dies is restarted, never silently lost
            try:
                await worker()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s: worker %s died; restarting", self.name, worker)
                await asyncio.sleep(1.0)

    async def stop(self, grace: float = 5.0) -> None:
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
        await stop_tasks(self._tasks)
        for callback in self.on_stop:
            try:
                await asyncio.wait_for(callback(), 10.0)  # closing NATS and the database: never a hung stop
            except TimeoutError:
                log.error("%s: %s did not finish within 10 s of stopping; going on", self.name, callback)

    async def serve_until_signalled(self, host: str, port: int) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await self.start(host, port)
        await stop.wait()
        log.info("%s: stopping", self.name)
        await self.stop()
