/* The broker's D-Bus names, shared by rdvd, rdv-shell and rdvctl. */
#pragma once

#define RDV_BUS_NAME "org.rdvkit.Broker"
#define RDV_OBJECT_PATH "/org/rdvkit/Broker"
#define RDV_IFACE "org.rdvkit.Broker1"
#define RDV_ADMIN_IFACE "org.rdvkit.Admin1"

#define RDV_ERR_PREFIX "org.rdvkit.Error."
#define RDV_ERR_INVALID RDV_ERR_PREFIX "InvalidArgument"
#define RDV_ERR_UNKNOWN_DEVICE RDV_ERR_PREFIX "UnknownDevice"
#define RDV_ERR_BUSY RDV_ERR_PREFIX "Busy"
#define RDV_ERR_NOT_ALLOWED RDV_ERR_PREFIX "NotAllowed"
#define RDV_ERR_ACCESS_DENIED RDV_ERR_PREFIX "AccessDenied"
#define RDV_ERR_EXHAUSTED RDV_ERR_PREFIX "PoolExhausted"
#define RDV_ERR_NOT_REGISTERED RDV_ERR_PREFIX "NotRegistered"
#define RDV_ERR_NO_SESSION RDV_ERR_PREFIX "NoSession"
#define RDV_ERR_WRONG_ROLE RDV_ERR_PREFIX "WrongRole"
#define RDV_ERR_FAILED RDV_ERR_PREFIX "Failed"

/*
 * The device shell's error lines carry the error's D-Bus name in brackets
 * after the words, "connect_to_onsite_dev: rpi1: busy in another session
 * [org.rdvkit.Error.Busy]": programs decide by the name (rdvlink_error()),
 * people read the words, which may change.
 */
#define RDV_ERR_TOKEN_OPEN " ["
#define RDV_ERR_TOKEN_CLOSE "]"
