#include "shim.h"

int tw_errno(void) { return rte_errno; }

uint16_t tw_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n) {
    return rte_eth_rx_burst(port, queue, pkts, n);
}

uint16_t tw_tx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n) {
    return rte_eth_tx_burst(port, queue, pkts, n);
}

struct rte_mbuf *tw_pktmbuf_alloc(struct rte_mempool *mp) { return rte_pktmbuf_alloc(mp); }
void tw_pktmbuf_free(struct rte_mbuf *m) { rte_pktmbuf_free(m); }
void tw_pktmbuf_reset(struct rte_mbuf *m) { rte_pktmbuf_reset(m); }
uint8_t *tw_pktmbuf_mtod(struct rte_mbuf *m) { return rte_pktmbuf_mtod(m, uint8_t *); }
uint8_t *tw_pktmbuf_append(struct rte_mbuf *m, uint16_t len) {
    return (uint8_t *)rte_pktmbuf_append(m, len);
}
int tw_pktmbuf_trim(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_trim(m, len); }
uint16_t tw_pktmbuf_data_len(const struct rte_mbuf *m) { return rte_pktmbuf_data_len(m); }
uint32_t tw_pktmbuf_pkt_len(const struct rte_mbuf *m) { return rte_pktmbuf_pkt_len(m); }
uint16_t tw_pktmbuf_tailroom(const struct rte_mbuf *m) { return rte_pktmbuf_tailroom(m); }
uint16_t tw_mbuf_nb_segs(const struct rte_mbuf *m) { return m->nb_segs; }
uint64_t tw_mbuf_ol_flags(const struct rte_mbuf *m) { return m->ol_flags; }

uint64_t tw_mbuf_dynfield_u64(const struct rte_mbuf *m, int offset) {
    return *RTE_MBUF_DYNFIELD(m, offset, const uint64_t *);
}

void tw_mbuf_tx_cksum_ipv4_tcp(struct rte_mbuf *m, uint16_t l2_len, uint16_t l3_len) {
    struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, l2_len);
    struct rte_tcp_hdr *tcp =
        rte_pktmbuf_mtod_offset(m, struct rte_tcp_hdr *, l2_len + l3_len);
    m->l2_len = l2_len;
    m->l3_len = l3_len;
    m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM;
    ip->hdr_checksum = 0;
    tcp->cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
}

unsigned tw_lcore_id(void) { return rte_lcore_id(); }
const char *tw_version(void) { return rte_version(); }

uint64_t tw_tx_offload_ipv4_cksum(void) { return RTE_ETH_TX_OFFLOAD_IPV4_CKSUM; }
uint64_t tw_tx_offload_tcp_cksum(void) { return RTE_ETH_TX_OFFLOAD_TCP_CKSUM; }
uint64_t tw_rx_offload_timestamp(void) { return RTE_ETH_RX_OFFLOAD_TIMESTAMP; }
