"""The vendor's Python client library, unmodified, against a running Gatehouse.

Run by tests/it/python.rs with the library installed in target/pyenv (bash .ci/run installs
it). Reads GATEHOUSE_URL, GATEHOUSE_TENANT, GATEHOUSE_CLIENT_ID and GATEHOUSE_CLIENT_SECRET
(a client-credentials client with the Tenant Administrator role). Any failed assertion or
unexpected SdsError ends it with a traceback and a non-zero status.

The library has services for Roles and Users. It has none for clients or the tenant: those go
through its BaseClient, with its own authentication, headers and error handling, the way the
library's own services call the API.
"""

import json
import os
import uuid

from adh_sample_library_preview import ADHClient, Role, RoleScope, Roles, SdsError, User, Users

URL = os.environ['GATEHOUSE_URL']
TENANT = os.environ['GATEHOUSE_TENANT']

# Authenticates at once: discovery at {URL}/identity/.well-known/openid-configuration, then
# client_credentials with client_secret_post at the token endpoint it names.
client = ADHClient('v1', TENANT, URL, os.environ['GATEHOUSE_CLIENT_ID'], os.environ['GATEHOUSE_CLIENT_SECRET'])
base = client.baseClient
tenant_path = f'{base.uri_API}/Tenants/{TENANT}'


def expect_error(status, call, *args):
    """Calls the library, which must raise its SdsError with this status and an Operation-Id
    equal to the body's OperationId."""
    try:
        call(*args)
    except SdsError as error:
        assert error.StatusCode == status, f'{error.StatusCode} != {status}: {error}'
        assert error.OperationId, f'no Operation-Id header: {error}'
        assert json.loads(error.value)['OperationId'] == error.OperationId, error
        assert error.Error and error.Reason and error.Resolution, error
        return error
    raise AssertionError(f'{call.__name__} did not fail')


def request(method, path, body=None):
    """A call through the library's BaseClient, checked by its checkResponse."""
    response = base.request(method, path, data=None if body is None else json.dumps(body))
    base.checkResponse(response, f'{method} {path} failed')
    assert uuid.UUID(response.headers['Operation-Id'])
    return response.json() if response.text else None


# --- Roles: the built-ins found by the product's well-known type ids ---
roles = client.Roles.getRoles()
by_type = {r.RoleTypeId: r for r in roles if r.RoleTypeId}
admin_role = by_type[Roles.TenantAdministratorRoleTypeId]
member_role = by_type[Roles.TenantMemberRoleTypeId]
assert admin_role.Name == 'Tenant Administrator', admin_role.Name
assert admin_role.RoleScope == RoleScope.Tenant and admin_role.TenantId == TENANT
assert client.Roles.getRoleById(member_role.Id).RoleTypeId == Roles.TenantMemberRoleTypeId

auditors = client.Roles.createRole(
    Role(name='Auditors', description='Reads everything', role_scope=RoleScope.Tenant, tenant_id=TENANT))
assert uuid.UUID(auditors.Id) and auditors.RoleTypeId is None, auditors.RoleTypeId
assert auditors.RoleScope == RoleScope.Tenant and auditors.Name == 'Auditors'
assert auditors.Id in [r.Id for r in client.Roles.getRoles(skip=0, count=100)]
auditors.Description = 'Reads everything, changes nothing'
assert client.Roles.updateRole(auditors).Description == 'Reads everything, changes nothing'
assert client.Roles.getRoleById(auditors.Id).Name == 'Auditors'
error = expect_error(400, client.Roles.updateRole, admin_role)
assert 'built-in' in error.Reason, error.Reason
error = expect_error(400, client.Roles.createRole, Role(name='Community', role_scope=RoleScope.Community))
assert error.Reason.startswith('RoleScope'), error.Reason
print('roles: ok')

# --- Users: created the product's way, without user name or password ---
users = client.Users.getUsers()
assert any(u.RoleIds and admin_role.Id in u.RoleIds for u in users), 'the administrator is listed'
created = client.Users.createUser(User(
    contact_email='pat@example.com', contact_given_name='Pat', contact_surname='Jones',
    role_ids=[member_role.Id, auditors.Id]))
assert uuid.UUID(created.Id)
assert (created.ContactEmail, created.Email) == ('pat@example.com', 'pat@example.com')
assert (created.ContactGivenName, created.ContactSurname) == ('Pat', 'Jones')
assert created.IdentityProviderId is None
assert set(created.RoleIds) == {member_role.Id, auditors.Id}

# A GET body, edited and sent back (the library's create-or-update is a PUT).
fetched = client.Users.getUserById(created.Id)
fetched.ContactGivenName = 'Patricia'
fetched.ContactEmail = 'patricia@example.com'
client.Users.createOrUpdateUser(fetched)
updated = client.Users.getUserById(created.Id)
assert (updated.ContactGivenName, updated.ContactEmail) == ('Patricia', 'patricia@example.com')
assert updated.ContactSurname == 'Jones'

error = expect_error(400, client.Users.createUser,
                     User(contact_email='ext@example.com', identity_provider_id=Users.AADIdentityProviderId))
assert 'local directory' in error.Reason, error.Reason
expect_error(404, client.Users.getUserById, str(uuid.uuid4()))

client.Roles.deleteRole(auditors.Id)
assert client.Users.getUserById(created.Id).RoleIds == [member_role.Id], 'the deleted role left the user'
client.Users.deleteUser(created.Id)
expect_error(404, client.Users.getUserById, created.Id)
print('users: ok')

# --- The tenant and clients, through the library's BaseClient ---
tenant = request('get', tenant_path)
assert tenant['Id'] == TENANT
made = request('post', f'{tenant_path}/ClientCredentialClients',
               {'Name': 'from python', 'RoleIds': [member_role.Id], 'SecretDescription': 'python'})
client_id = made['Client']['Id']
assert made['Secret'] and made['Id'] == 1
# Paths in another case, as hand-written scripts and the JavaScript sample spell them.
listed = request('get', f'{base.uri_API}/tenants/{TENANT}/clientcredentialclients?count=1000')
assert client_id in [c['Id'] for c in listed]
secret = request('post', f'{tenant_path}/CLIENTCREDENTIALCLIENTS/{client_id}/secrets',
                 {'Description': 'rotated', 'Expires': False})
assert secret['Id'] == 2 and secret['Expires'] is False
request('delete', f'{tenant_path}/ClientCredentialClients/{client_id}/Secrets/1')
assert [s['Id'] for s in request('get', f'{tenant_path}/ClientCredentialClients/{client_id}/Secrets')] == [2]

# The new client authenticates through the library too, and may read.
machine = ADHClient('v1', TENANT, URL, client_id, secret['Secret'])
assert len(machine.Roles.getRoles()) >= 2
error = expect_error(403, machine.Roles.createRole, Role(name='Nope', role_scope=RoleScope.Tenant))
request('delete', f'{tenant_path}/ClientCredentialClients/{client_id}')
print('clients: ok')
