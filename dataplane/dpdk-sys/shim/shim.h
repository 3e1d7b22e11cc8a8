/* Out-of-line wrappers for the DPDK `static inline` functions tickwire calls.
 * bindgen cannot bind inline functions, so each one gets a `tw_` symbol here. */
#ifndef TICKWIRE_DPDK_SHIM_H
#define TICKWIRE_DPDK_SHIM_H

#include <rte_config.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_dev.h>
#include <rte_bus.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>
#include <rte_version.h>

int tw_errno(void);
uint16_t tw_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
uint16_t tw_tx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
struct rte_mbuf *tw_pktmbuf_alloc(struct rte_mempool *mp);
void tw_pktmbuf_free(struct rte_mbuf *m);
void tw_pktmbuf_reset(struct rte_mbuf *m);
uint8_t *tw_pktmbuf_mtod(struct rte_mbuf *m);
uint8_t *tw_pktmbuf_append(struct rte_mbuf *m, uint16_t len);
int tw_pktmbuf_trim(struct rte_mbuf *m, uint16_t len);
uint16_t tw_pktmbuf_data_len(const struct rte_mbuf *m);
uint32_t tw_pktmbuf_pkt_len(const struct rte_mbuf *m);
uint16_t tw_pktmbuf_tailroom(const struct rte_mbuf *m);
uint16_t tw_mbuf_nb_segs(const struct rte_mbuf *m);
uint64_t tw_mbuf_ol_flags(const struct rte_mbuf *m);
uint64_t tw_mbuf_dynfield_u64(const struct rte_mbuf *m, int offset);
/* Marks an IPv4/TCP frame for checksum offload: sets l2/l3 lengths, the offload flags and the
 * pseudo-header checksum the hardware expects in the TCP checksum field. */
void tw_mbuf_tx_cksum_ipv4_tcp(struct rte_mbuf *m, uint16_t l2_len, uint16_t l3_len);
unsigned tw_lcore_id(void);
const char *tw_version(void);



/* Offload bits defined with RTE_BIT64 (bindgen cannot evaluate those macros). */
uint64_t tw_tx_offload_ipv4_cksum(void);
uint64_t tw_tx_offload_tcp_cksum(void);
uint64_t tw_rx_offload_timestamp(void);
#endif
