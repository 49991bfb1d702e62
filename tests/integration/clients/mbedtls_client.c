/* A small mbedTLS 2.28 TLS client for the client-family differential test
 * (tests/integration/clients_test.cpp): connects to 127.0.0.1:PORT, verifies the server's
 * chain against CAFILE for SERVERNAME (MBEDTLS_SSL_VERIFY_REQUIRED, default profile) and asks
 * for max_fragment_length 4096 (a small device's record buffer). Exit 0: handshake and
 * verification succeeded; 1: refused (the reason on stdout); 2: usage or setup error. */
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s PORT CAFILE SERVERNAME\n", argv[0]);
    return 2;
  }
  mbedtls_net_context net;
  mbedtls_ssl_context ssl;
  mbedtls_ssl_config conf;
  mbedtls_x509_crt ca;
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  mbedtls_net_init(&net);
  mbedtls_ssl_init(&ssl);
  mbedtls_ssl_config_init(&conf);
  mbedtls_x509_crt_init(&ca);
  mbedtls_entropy_init(&entropy);
  mbedtls_ctr_drbg_init(&drbg);
  int rc = 2;
  char err[256];
  if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0) != 0) goto done;
  if (mbedtls_x509_crt_parse_file(&ca, argv[2]) < 0) {
    printf("cannot parse %s\n", argv[2]);
    goto done;
  }
  if (mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                  MBEDTLS_SSL_PRESET_DEFAULT) != 0)
    goto done;
  mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_REQUIRED);
  mbedtls_ssl_conf_ca_chain(&conf, &ca, NULL);
  mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
  mbedtls_ssl_conf_max_frag_len(&conf, MBEDTLS_SSL_MAX_FRAG_LEN_4096);
  mbedtls_ssl_conf_read_timeout(&conf, 10000);
  if (mbedtls_ssl_setup(&ssl, &conf) != 0) goto done;
  if (mbedtls_ssl_set_hostname(&ssl, argv[3]) != 0) goto done;
  if (mbedtls_net_connect(&net, "127.0.0.1", argv[1], MBEDTLS_NET_PROTO_TCP) != 0) {
    printf("cannot connect\n");
    goto done;
  }
  mbedtls_ssl_set_bio(&ssl, &net, mbedtls_net_send, NULL, mbedtls_net_recv_timeout);
  int hs;
  int rounds = 0;
  while ((hs = mbedtls_ssl_handshake(&ssl)) != 0) {
    if ((hs != MBEDTLS_ERR_SSL_WANT_READ && hs != MBEDTLS_ERR_SSL_WANT_WRITE) || ++rounds > 1000) break;
  }
  uint32_t flags = mbedtls_ssl_get_verify_result(&ssl);
  if (hs == 0 && flags == 0) {
    printf("accepted\n");
    rc = 0;
  } else {
    mbedtls_strerror(hs, err, sizeof err);
    char info[512];
    info[0] = '\0';
    if (flags != 0 && flags != (uint32_t)-1) mbedtls_x509_crt_verify_info(info, sizeof info, "", flags);
    for (char* p = info; *p; ++p)
      if (*p == '\n') *p = ';';
    printf("rejected: %s (-0x%04x) flags 0x%08x %s\n", err, (unsigned)-hs, flags, info);
    rc = 1;
  }
  mbedtls_ssl_close_notify(&ssl);
done:
  mbedtls_net_free(&net);
  mbedtls_ssl_free(&ssl);
  mbedtls_ssl_config_free(&conf);
  mbedtls_x509_crt_free(&ca);
  mbedtls_ctr_drbg_free(&drbg);
  mbedtls_entropy_free(&entropy);
  return rc;
}
