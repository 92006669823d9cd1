/*
 * The package builder storage calls when a device polls and has work
 * (storage/queue.h eim_queue_build_fn; brief §8.2 "package built and signed
 * before the bytes leave"): operation parameters (proto/esep/package_params.h)
 * plus counterValue, eimTransactionId, association token, eimId and EID
 * become the bytes stored and handed out:
 *
 *   psmo / eco          BF51 EuiccPackageRequest signed with SK.EIM
 *                       (SGP.32 v1.2 §2.11.1.1, brief §3.1) via eim_package_build
 *   euicc_data_request  BF52 IpaEuiccDataRequest (§2.11.2, brief §2.5), unsigned
 *   download_trigger    BF54 ProfileDownloadTriggerRequest (§2.11.1.3, brief §2.6),
 *                       unsigned
 *
 * The eimTransactionId goes into every kind (82 / 83 / 82) so the result
 * can be matched (brief §2.9). Runs on the loop: parsing and one ECDSA
 * signature, no I/O.
 */
#ifndef EIM_SERVER_ESIPA_PACKAGE_BUILDER_H
#define EIM_SERVER_ESIPA_PACKAGE_BUILDER_H

#include "proto/crypto/signer.h"
#include "storage/queue.h"

typedef struct {
    eim_signer_t *signer; /* SK.EIM.ECDSA; borrowed, must outlive the queue */
} eim_package_builder_t;

/* eim_queue_build_fn with ctx = eim_package_builder_t *. Errors:
 * EIM_ERR_INVALID_ARG (parameters or inputs unusable; the message is
 * logged), the signer's error, EIM_ERR_LIMIT (out too small). */
eim_err_t eim_package_builder_build(void *ctx, const eim_queue_build_input_t *in, eim_buf_t *out);

#endif
