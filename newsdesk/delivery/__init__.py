"""The outgoing-delivery service: every push Newsdesk makes (alert webhooks and e-mails, WebSub)."""
