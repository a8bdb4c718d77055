"""The SMS channel (Aliyun Dysmsapi 2017-05-25): a client for its documented HTTP API
(`aliyun.py`), the core ports over it (`messenger.py`), and the delivery-receipt route
(`receipts.py`) that cli mounts."""
