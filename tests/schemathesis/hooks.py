"""Schemathesis hooks for Gatehouse's admin API (tests/it/schemathesis.rs).

Every generated request carries a bearer token of the bootstrap client (Tenant
Administrator), fetched with client credentials from the server under test and fetched
again before it expires, so that a long run keeps testing past the token's lifetime.
"""

import os

import requests
import schemathesis


@schemathesis.auth(refresh_interval=600)
class BootstrapClient:
    def get(self, case, context):
        response = requests.post(
            os.environ["GATEHOUSE_URL"] + "/identity/connect/token",
            data={"grant_type": "client_credentials"},
            auth=(os.environ["GATEHOUSE_CLIENT_ID"], os.environ["GATEHOUSE_CLIENT_SECRET"]),
            timeout=10,
        )
        response.raise_for_status()
        return response.json()["access_token"]

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}
