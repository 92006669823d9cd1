#!/bin/sh
# make-test-pki.sh OUTDIR — generates the eimd test PKI with openssl.
#
# Shapes follow the SGP.22 v2 §4.5.2 certificate profiles (as far as known
# without the PDF; see docs/interpretation-log.md):
#   CI    self-signed; basicConstraints critical CA; keyUsage critical
#         keyCertSign,cRLSign; certificatePolicies critical id-rspRole-ci
#         (2.23.146.1.2.1.0); SKI.
#   EUM   issued by CI; basicConstraints critical CA pathlen 0; keyUsage
#         critical keyCertSign; certificatePolicies critical id-rspRole-eum
#         (2.23.146.1.2.1.2); nameConstraints critical permitted dirName
#         {O=<EUM>, serialNumber=<EID prefix>}; SKI/AKI.
#   eUICC issued by EUM; subject {O=<EUM>, serialNumber=<EID>, CN}; keyUsage
#         critical digitalSignature; certificatePolicies critical
#         id-rspRole-euicc (2.23.146.1.2.1.1); SKI/AKI; notAfter 9999.
# Everything exists twice: nist (prime256v1) and brp (brainpoolP256r1).
# Extra material for negative tests: a second CI ("other"), a CI impostor
# with the same name as the real CI but another key, an eUICC whose EID is
# outside the EUM prefix, an EUM without nameConstraints, an eUICC marked CA,
# and eIM signing keys in SEC1/PKCS#8, PEM/DER.
# Validity (fixed, so tests can pass fixed times): CI 2024-01-01..2060-01-01,
# EUM 2024-01-01..2055-01-01, eUICC 2024-01-01..9999-12-31.
set -eu

out=${1:?usage: make-test-pki.sh OUTDIR}
mkdir -p "$out"
cd "$out"

EID=89049032123451234512345678901235
EID_OUTSIDE=89049099123451234512345678901235
EID_PREFIX=89049032
EUM_ORG="EUM Example"

cat > pki.cnf <<CNF
[ ca ]
default_ca = ca_default
[ ca_default ]
dir = .
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
default_md = sha256
policy = policy_any
preserve = yes
unique_subject = no
email_in_dn = no
copy_extensions = none
[ policy_any ]
countryName = optional
organizationName = optional
organizationalUnitName = optional
commonName = optional
serialNumber = optional
[ req ]
distinguished_name = req_dn
prompt = no
[ req_dn ]
CN = unused
[ ext_ci ]
subjectKeyIdentifier = hash
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
certificatePolicies = critical, 2.23.146.1.2.1.0
[ ext_eum ]
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign
certificatePolicies = critical, 2.23.146.1.2.1.2
nameConstraints = critical, permitted;dirName:eum_range
[ eum_range ]
O = $EUM_ORG
serialNumber = $EID_PREFIX
[ ext_eum_no_range ]
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign
certificatePolicies = critical, 2.23.146.1.2.1.2
[ ext_euicc ]
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
keyUsage = critical, digitalSignature
certificatePolicies = critical, 2.23.146.1.2.1.1
[ ext_euicc_ca ]
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
basicConstraints = critical, CA:true
keyUsage = critical, digitalSignature, keyCertSign
certificatePolicies = critical, 2.23.146.1.2.1.1
CNF

mkdir -p newcerts
: > index.txt
echo 1000 > serial

genkey() { # curve file
    openssl ecparam -name "$1" -genkey -noout -out "$2" 2>/dev/null
}

csr() { # key subj out
    openssl req -new -config pki.cnf -key "$1" -subj "$2" -out "$3"
}

issue() { # csr cacert cakey ext start end out [selfsign]
    if [ "$2" = self ]; then
        openssl ca -batch -config pki.cnf -selfsign -keyfile "$3" -in "$1" -extensions "$4" \
            -startdate "$5" -enddate "$6" -notext -out "$7" 2>/dev/null
    else
        openssl ca -batch -config pki.cnf -cert "$2" -keyfile "$3" -in "$1" -extensions "$4" \
            -startdate "$5" -enddate "$6" -notext -out "$7" 2>/dev/null
    fi
    openssl x509 -in "$7" -outform DER -out "${7%.pem}.der"
}

for c in nist brp; do
    if [ $c = nist ]; then curve=prime256v1; else curve=brainpoolP256r1; fi

    genkey $curve ci_$c.key
    csr ci_$c.key "/C=ZZ/O=eimd test/CN=eimd Test CI $c" ci_$c.csr
    issue ci_$c.csr self ci_$c.key ext_ci 20240101000000Z 20600101000000Z ci_$c.pem

    genkey $curve ci_other_$c.key
    csr ci_other_$c.key "/C=ZZ/O=eimd test/CN=eimd Other CI $c" ci_other_$c.csr
    issue ci_other_$c.csr self ci_other_$c.key ext_ci 20240101000000Z 20600101000000Z \
        ci_other_$c.pem

    # Same name as the real CI, different key: must not validate the chain.
    genkey $curve ci_impostor_$c.key
    csr ci_impostor_$c.key "/C=ZZ/O=eimd test/CN=eimd Test CI $c" ci_impostor_$c.csr
    issue ci_impostor_$c.csr self ci_impostor_$c.key ext_ci 20240101000000Z 20600101000000Z \
        ci_impostor_$c.pem

    genkey $curve eum_$c.key
    csr eum_$c.key "/C=ZZ/O=$EUM_ORG/CN=EUM Test $c" eum_$c.csr
    issue eum_$c.csr ci_$c.pem ci_$c.key ext_eum 20240101000000Z 20550101000000Z eum_$c.pem

    genkey $curve eum_norange_$c.key
    csr eum_norange_$c.key "/C=ZZ/O=$EUM_ORG/CN=EUM No Range $c" eum_norange_$c.csr
    issue eum_norange_$c.csr ci_$c.pem ci_$c.key ext_eum_no_range 20240101000000Z \
        20550101000000Z eum_norange_$c.pem

    genkey $curve euicc_$c.key
    csr euicc_$c.key "/O=$EUM_ORG/serialNumber=$EID/CN=Test eUICC $c" euicc_$c.csr
    issue euicc_$c.csr eum_$c.pem eum_$c.key ext_euicc 20240101000000Z 99991231235959Z \
        euicc_$c.pem
    openssl ec -in euicc_$c.key -pubout -out euicc_$c.pub.pem 2>/dev/null

    csr euicc_$c.key "/O=$EUM_ORG/serialNumber=$EID_OUTSIDE/CN=Outside eUICC $c" \
        euicc_outside_$c.csr
    issue euicc_outside_$c.csr eum_$c.pem eum_$c.key ext_euicc 20240101000000Z \
        99991231235959Z euicc_outside_$c.pem

    issue euicc_$c.csr eum_norange_$c.pem eum_norange_$c.key ext_euicc 20240101000000Z \
        99991231235959Z euicc_norange_$c.pem

    issue euicc_$c.csr eum_$c.pem eum_$c.key ext_euicc_ca 20240101000000Z 99991231235959Z \
        euicc_ca_$c.pem

    # eIM signing key (SK.EIM.ECDSA) in every accepted format.
    genkey $curve eim_$c.key                                   # SEC1 PEM
    openssl ec -in eim_$c.key -outform DER -out eim_$c.sec1.der 2>/dev/null
    openssl pkcs8 -topk8 -nocrypt -in eim_$c.key -out eim_$c.p8.pem
    openssl pkcs8 -topk8 -nocrypt -in eim_$c.key -outform DER -out eim_$c.p8.der
    openssl ec -in eim_$c.key -pubout -out eim_$c.pub.pem 2>/dev/null
    openssl ec -in eim_$c.key -pubout -outform DER -out eim_$c.pub.der 2>/dev/null
done

# A key on a curve SGP.22 does not allow, for negative tests.
genkey secp384r1 eim_p384.key
openssl ec -in eim_p384.key -pubout -outform DER -out eim_p384.pub.der 2>/dev/null
rm -f ./*.csr
echo "$EID" > eid.txt
