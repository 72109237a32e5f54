"""The top of the money flow: everything that talks to Xendit and touches an order and its
payment together.

- `placing`: place an order (reserve, write, open its invoice at Xendit);
- `invoices`: the one rule for what Xendit says about an invoice (`invoice_apply`), used by
  the webhook, reconciliation, the sweep and the admin; reading an invoice and applying it
  (`payment_reconcile`); expiring an invoice at Xendit (`invoice_expire`);
- `callbacks`: processing a callback from the inbox (`payments.webhooks`) through that rule;
- `sweeps`: the periodic pass over payments whose invoice needs looking at.

Modules here call `orders.services` (order transitions, order lock then payment lock) and
the gateway; nothing below imports them (docs/architecture.md, "Layers").
"""
