"""A WebSub hub for Newsdesk's own feeds (W3C WebSub, https://www.w3.org/TR/websub/).

- ``hub``: subscribe/unsubscribe requests, intent verification, leases, and
  the publish sweep that pushes a feed to its subscribers when it changed;
- ``views``: the hub endpoint subscribers POST to.

Pushes are deliveries of the outgoing-delivery service (newsdesk/delivery/),
signed with the subscriber's ``hub.secret`` in ``X-Hub-Signature``.
"""
