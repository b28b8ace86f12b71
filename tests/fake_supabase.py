"""A whole stand-in Supabase project on one loopback port: Auth under ``/auth/v1`` and Storage
under ``/storage/v1``, sharing one service key, as a hosted project's API gateway does.

    with serve_fake_supabase(dsn=database_url) as project:
        env = {"SUPABASE_URL": project.url, "SUPABASE_SERVICE_ROLE_KEY": project.service_key}
        project            # the FakeSupabaseAuth: users, signing keys, requests seen
        project.storage    # the FakeSupabaseStorage: buckets, objects, requests seen, faults

``project.stop()`` takes the whole project off the network. Leaving the block fails if a
request broke the documented Auth API (``project.violations``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Mount

from tests.fake_supabase_auth import FakeSupabaseAuth
from tests.fake_supabase_storage import FakeSupabaseStorage
from tests.loopback import serve_app


@contextmanager
def serve_fake_supabase(**auth_options: Any) -> Iterator[FakeSupabaseAuth]:
    """Both services behind one URL; ``auth_options`` go to FakeSupabaseAuth. The service key
    is a legacy ``service_role`` key (a JWT of the project), which both accept."""
    storage = FakeSupabaseStorage()
    auth = FakeSupabaseAuth(service_key=storage.service_key, **auth_options)
    auth.storage = storage
    app = Starlette(routes=[auth.mount(), Mount("/storage/v1", app=storage.asgi)])
    with serve_app(app) as running:
        auth.url = storage.url = running.url
        auth.stop = running.stop
        yield auth
        auth.check()  # only when the block ended normally: a failure inside it comes first
