/*
 * PendingNotification (SGP.32 v1.2 Annex A "SGP32-PendingNotification",
 * SGP.22 §5.6.x ProfileInstallationResult / OtherSignedNotification) and
 * PendingNotificationList, as carried in HandleNotification (§5.14.7),
 * ePRAndNotifications (§5.14.6) and IpaEuiccData.notificationsList.
 *
 * The eIM forwards notifications to their notification address unchanged,
 * so each one is kept as its complete received TLV. For routing and order
 * tracking the cheap fields are extracted as well: seqNumber, the
 * NotificationEvent, notificationAddress and ICCID (from NotificationMetadata
 * BF2F), the SM-DP+ transactionId and finalResult of a PIR, the eUICC and
 * EUM certificates of an OtherSignedNotification.
 */
#ifndef EIM_PROTO_ESIPA_PENDING_NOTIFICATION_H
#define EIM_PROTO_ESIPA_PENDING_NOTIFICATION_H

#include "proto/esipa/esipa_common.h"

typedef enum {
    EIM_ESIPA_NOTIFICATION_PIR = 1,       /* BF37 ProfileInstallationResult */
    EIM_ESIPA_NOTIFICATION_OTHER_SIGNED,  /* 30 OtherSignedNotification */
    EIM_ESIPA_NOTIFICATION_COMPACT_PIR,   /* A0 CompactProfileInstallationResult */
    EIM_ESIPA_NOTIFICATION_COMPACT_OTHER, /* A1 CompactOtherSignedNotification */
} eim_esipa_notification_kind_t;

typedef struct {
    eim_esipa_notification_kind_t kind;
    eim_span_t tlv; /* the complete notification TLV as received */

    /* Extracted (spans point into tlv). Compact PIRs carry no metadata
     * beyond seqNumber. */
    bool has_seq_number;
    int64_t seq_number;
    bool has_event;
    uint32_t event; /* EIM_ESIPA_EVENT_* mask */
    bool has_notification_address;
    eim_span_t notification_address; /* UTF-8 FQDN */
    bool has_iccid;
    eim_span_t iccid; /* 10 bytes */
    bool has_transaction_id;
    eim_span_t transaction_id; /* PIR: the SM-DP+ TransactionId */
    bool has_eid;
    eim_span_t eid; /* compact other-signed (v1.2 CR12008) */
    /* PIR finalResult: success, or errorResult with its errorReason. */
    bool has_final_result;
    bool success;
    int64_t error_reason;
    /* OtherSignedNotification: complete Certificate TLVs ("30 ..."). */
    eim_span_t euicc_certificate;
    eim_span_t eum_certificate;
} eim_esipa_notification_t;

typedef struct {
    size_t count;
    eim_esipa_notification_t items[EIM_ESIPA_MAX_NOTIFICATIONS];
} eim_esipa_notification_list_t;

/* Decodes one PendingNotification TLV (BF37, 30, A0 or A1) from data. */
eim_err_t eim_esipa_notification_decode(const uint8_t *data, size_t len,
                                        eim_esipa_notification_t *out, eim_der_error_t *error);

/* Internal codec entry points (see esipa_internal.h). The writer emits
 * in->tlv unchanged; a list is written as tag { item.tlv ... }. */
eim_err_t eim_esipa_notification_read(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                      eim_esipa_notification_t *out);
void eim_esipa_notification_write(eim_der_writer_t *w, const eim_esipa_notification_t *in);
eim_err_t eim_esipa_notification_list_read(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                           eim_esipa_notification_list_t *out);
void eim_esipa_notification_list_write(eim_der_writer_t *w, uint32_t tag,
                                       const eim_esipa_notification_list_t *in);

#endif
