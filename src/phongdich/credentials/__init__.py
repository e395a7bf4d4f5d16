"""Signing keys, the personal health pass, EU DCC, the verifier, trust and revocation lists."""
