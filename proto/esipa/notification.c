/*
 * HandleNotificationEsipa (BF3D), SGP.32 v1.2 §5.14.7, §6.3.2.4, Annex A.
 * pendingNotification [0] is an explicitly tagged CHOICE (A0 holds exactly
 * one notification TLV); provideEimPackageResult keeps its own BF50 tag.
 */
#include "proto/esipa/notification.h"

#include <string.h>

#include "proto/esipa/esipa_internal.h"

#define TAG_HANDLE_NOTIFICATION 0xBF3D

eim_err_t eim_esipa_handle_notification_read(eim_der_reader_t *r, const eim_der_elem_t *elem,
                                             eim_esipa_handle_notification_t *out)
{
    eim_der_reader_t choice, pending;
    eim_der_elem_t e = {0}, n = {0};
    memset(out, 0, sizeof(*out));
    eim_err_t rc = eim_esipa_enter(r, elem, &choice);
    if (rc == EIM_OK)
        rc = eim_esipa_read_single(&choice, &e);
    if (rc != EIM_OK)
        return rc;
    switch (e.tag) {
    case 0xA0:
        out->kind = EIM_ESIPA_HANDLE_NOTIFICATION_PENDING;
        rc = eim_esipa_enter(&choice, &e, &pending);
        if (rc == EIM_OK)
            rc = eim_esipa_read_single(&pending, &n);
        if (rc == EIM_OK)
            rc = eim_esipa_notification_read(&pending, &n, &out->notification);
        return rc;
    case 0xBF50:
        out->kind = EIM_ESIPA_HANDLE_NOTIFICATION_PROVIDE_RESULT;
        return eim_esipa_provide_eim_package_result_read(&choice, &e, &out->result);
    default:
        return eim_der_fail(&choice, &e, EIM_ERR_UNSUPPORTED,
                            "unknown HandleNotificationEsipa alternative");
    }
}

void eim_esipa_handle_notification_write(eim_der_writer_t *w,
                                         const eim_esipa_handle_notification_t *in)
{
    eim_der_begin(w, TAG_HANDLE_NOTIFICATION);
    switch (in->kind) {
    case EIM_ESIPA_HANDLE_NOTIFICATION_PENDING:
        eim_der_begin(w, 0xA0);
        eim_esipa_notification_write(w, &in->notification);
        eim_der_end(w);
        break;
    case EIM_ESIPA_HANDLE_NOTIFICATION_PROVIDE_RESULT:
        eim_esipa_provide_eim_package_result_write(w, &in->result);
        break;
    default: eim_esipa_writer_fail(w); break;
    }
    eim_der_end(w);
}

EIM_ESIPA_DEFINE_CODEC(handle_notification, eim_esipa_handle_notification_t,
                       TAG_HANDLE_NOTIFICATION)
