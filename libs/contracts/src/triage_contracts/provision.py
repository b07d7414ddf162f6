"""`python -m triage_contracts.provision`: create or update every stream, KV bucket and
object store of `streams.py`, connected as the `provisioner` identity (NATS_URL,
NATS_USER/NATS_PASSWORD, NATS_REPLICAS, NATS_TLS_*), the one identity allowed to. The
chart runs it as a pre-install/pre-upgrade hook Job; services never create streams."""

import asyncio

import nats

from .logs import configure_logging, get_logger
from .natsauth import nats_auth
from .settings import ServiceSettings
from .streams import provision_patiently

log = get_logger("triage.provision")


class Settings(ServiceSettings):
    pass


async def run(settings: ServiceSettings) -> None:
    auth = nats_auth(settings, "provisioner")
    nc = await nats.connect(settings.nats_url.split(","), name="triage-provisioner",
                            max_reconnect_attempts=3, **auth.connect_options())
    try:
        # The hook can run while a new NATS cluster still gathers its peers.
        await provision_patiently(nc.jetstream(), settings.nats_replicas)
    finally:
        await nc.close()
    log.info("streams, buckets and object stores provisioned",
             replicas=settings.nats_replicas)


def main() -> None:
    settings = Settings()
    configure_logging("provisioner", settings.log_level, settings.log_json)
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
