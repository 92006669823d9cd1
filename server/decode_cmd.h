/*
 * `eimd decode`: a tool for people reading ESipa traffic. Reads one message
 * as hex, base64 or raw DER from an argument, a file or stdin, decodes it
 * as EsipaMessageFromIpaToEim, EsipaMessageFromEimToIpa, or a bare BF51
 * EuiccPackageRequest / EuiccPackageResult (SGP.32 v1.2 §6.1.1, §6.3,
 * §2.11; proto/esipa/esipa_describe.h) and prints it as pretty JSON with
 * the ASN.1 field names.
 *
 *   eimd decode [--in hex|base64|der] [FILE|-|HEXSTRING]
 *
 * Exit codes (sysexits.h): 0 decoded; 64 usage; 65 (EX_DATAERR) the input
 * is not a message we can decode, with offset, tag and reason on stderr;
 * 66 (EX_NOINPUT) the file cannot be read.
 */
#ifndef EIM_SERVER_DECODE_CMD_H
#define EIM_SERVER_DECODE_CMD_H

#include <stdio.h>

#define EIM_EXIT_DATAERR 65
#define EIM_EXIT_NOINPUT 66

/* Largest input accepted (text or DER). */
#define EIM_DECODE_MAX_INPUT (4 * 1024 * 1024)

/* Runs the command with the arguments that follow "decode"; writes the JSON
 * to out and diagnostics to err. Returns the process exit code. */
int eim_decode_cmd(int argc, char **argv, FILE *in, FILE *out, FILE *err);

#endif
