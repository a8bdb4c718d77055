"""Short notices by SMS: what may be sent (approved templates, never free text), how it is
counted and billed, per-number limits, receipts, and the channel's standing problems. The
provider adapter lives in channels/sms/ and implements `core.sms.port.NoticeGateway`."""
