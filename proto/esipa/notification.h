/*
 * HandleNotificationEsipa (BF3D), SGP.32 v1.2 §5.14.7, §6.3.2.4, Annex A.
 * The IPA delivers either one pending SGP.22 notification
 * (BF3D { A0 { BF37 PIR | 30 OtherSignedNotification | compact A0/A1 } })
 * or a late ProvideEimPackageResult (BF3D { BF50 { ... } }). There is no
 * ESipa response message: the eIM answers HTTP 204.
 */
#ifndef EIM_PROTO_ESIPA_NOTIFICATION_H
#define EIM_PROTO_ESIPA_NOTIFICATION_H

#include "proto/esipa/esipa_common.h"
#include "proto/esipa/pending_notification.h"
#include "proto/esipa/provide_result.h"

typedef enum {
    EIM_ESIPA_HANDLE_NOTIFICATION_PENDING = 1,    /* A0 pendingNotification */
    EIM_ESIPA_HANDLE_NOTIFICATION_PROVIDE_RESULT, /* BF50 provideEimPackageResult */
} eim_esipa_handle_notification_kind_t;

typedef struct {
    eim_esipa_handle_notification_kind_t kind;
    eim_esipa_notification_t notification;         /* PENDING */
    eim_esipa_provide_eim_package_result_t result; /* PROVIDE_RESULT */
} eim_esipa_handle_notification_t;

eim_err_t eim_esipa_handle_notification_decode(const uint8_t *data, size_t len,
                                               eim_esipa_handle_notification_t *out,
                                               eim_der_error_t *error);
eim_err_t eim_esipa_handle_notification_encode(const eim_esipa_handle_notification_t *in,
                                               eim_buf_t *out);

/* Internal codec entry points (see esipa_internal.h). */
eim_err_t eim_esipa_handle_notification_read(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                             eim_esipa_handle_notification_t *out);
void eim_esipa_handle_notification_write(eim_der_writer_t *w,
                                         const eim_esipa_handle_notification_t *in);

#endif
