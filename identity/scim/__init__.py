"""SCIM 2.0 provisioning at /scim/v2/ (SPEC §9.1, RFC 7643/7644): an organization's
identity provider creates, renames, deactivates and groups its people here.

Users are members (org.Member and their Django user), Groups are departments. A
small module of plain Django views rather than django-scim2: a SCIM User here is two
rows (the account and the membership), every write must go through org/services.py
(permissions, audit log, the "keep one admin" rule), and the caller is a `scim`
service token, not a signed-in user — three things django-scim2's one-model adapters
and its auth middleware would have to be bent around. Filters and PATCH paths are
parsed by scim2-models (its RFC 7644 grammar), never by hand.

- auth.py: who calls (a `scim` token; its organization is all they ever see)
- errors.py: SCIM's error body and content type
- discovery.py: ServiceProviderConfig, ResourceTypes, Schemas
- query.py: filters to querysets, paging, attributes/excludedAttributes
- users.py, groups.py: the resources, read and written
- views.py, urls.py: the endpoints
"""
