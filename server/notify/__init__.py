"""Notifications: written with the change that causes them (``notifications``), delivered in the
app over Server-Sent Events (``stream``), to recruiters' systems as signed webhooks
(``webhooks``, ``targets``), by email where SMTP is configured (``email``), and the reminder of
an interview about to expire (``expiry``). docs/architecture.md tells how they fit."""
