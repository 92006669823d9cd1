/*
 * `eimd keygen`: creates the development keys and certificates named in the
 * configuration's keys section, each only if its file does not exist yet:
 *   - the eUICC Package signing key (P-256, PEM) and its public key
 *     (SubjectPublicKeyInfo PEM, what eUICCs receive as eimPublicKeyData);
 *   - a TLS/DTLS CA (self-signed, P-256) and a server certificate it issues
 *     for the eimId (SAN: the eimId, localhost, 127.0.0.1, ::1), written as
 *     a chain file (leaf then CA) and a private key;
 *   - the raw public key of the TLS key (SPKI DER, RFC 7250).
 * The signing key and the TLS key are separate keys (SGP.32 §2.6).
 * Production deployments bring their own keys; these are for development.
 */
#ifndef EIM_SERVER_KEYGEN_H
#define EIM_SERVER_KEYGEN_H

#include "server/config.h"

/* Returns a process exit code; logs each file it creates. */
int eim_keygen(const eim_config_t *cfg);

#endif
