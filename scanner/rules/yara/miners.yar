// Cryptocurrency miners: configuration files and binaries.

private rule executable
{
    condition:
        uint32(0) == 0x464C457F or uint16(0) == 0x5A4D or
        uint32(0) == 0xFEEDFACE or uint32(0) == 0xFEEDFACF or
        uint32(0) == 0xCEFAEDFE or uint32(0) == 0xCFFAEDFE
}

rule miner_config
{
    meta:
        id = "yara.miner-config"
        severity = "HIGH"
        category = "resource_abuse"
        title = "Cryptocurrency miner configuration"
        why = "Keys only a miner's configuration holds together (donation level, RandomX tuning, pool list with rig id and wallet login): the skill ships a miner set up to spend the user's machine for someone else."
        remediation = "Remove the miner and its configuration."
        hit = "{\"donate-level\": 1, \"randomx\": {\"1gb-pages\": false}, \"pools\": [{\"url\": \"pool.example.invalid:3333\", \"user\": \"WALLET\", \"rig-id\": null, \"nicehash\": false}]}"
        miss = "{\"pools\": {\"db\": 4, \"cache\": 2}, \"cpu\": {\"limit\": 2}, \"user\": \"admin\"}"

    strings:
        $k1 = "\"donate-level\"" ascii wide
        $k2 = "\"randomx\"" ascii wide
        $k3 = "\"rig-id\"" ascii wide
        $k4 = "\"nicehash\"" ascii wide
        $k5 = "\"huge-pages\"" ascii wide
        $k6 = "\"1gb-pages\"" ascii wide
        $k7 = "\"max-threads-hint\"" ascii wide
        $k8 = "\"coin\": \"monero\"" ascii wide nocase
        $k9 = "\"algo\": \"rx/" ascii wide
        $k10 = "\"keepalive\"" ascii wide
        $pool = "\"pools\"" ascii wide

    condition:
        $pool and 3 of ($k*)
}

rule miner_binary
{
    meta:
        id = "yara.miner-binary"
        severity = "CRITICAL"
        category = "resource_abuse"
        title = "Cryptocurrency miner executable"
        why = "The executable holds a mining-pool protocol address or the strings of a known miner: it turns the user's machine into someone else's mining rig."
        remediation = "Remove the binary."
        hit = "hex:7f454c46020101000000000000000000 7374726174756d2b7463703a2f2f706f6f6c2e6578616d706c652e696e76616c69643a33333333"
        miss = "hex:7f454c46020101000000000000000000 68656c6c6f2c20776f726c64"

    strings:
        $stratum = /stratum\+(tcp|ssl|tls):\/\// ascii wide nocase
        $m1 = "xmrig" ascii wide nocase
        $m2 = "cryptonight" ascii wide nocase
        $m3 = "randomx" ascii wide nocase
        $m4 = "--donate-level" ascii wide
        $m5 = "mining.subscribe" ascii wide
        $m6 = "mining.authorize" ascii wide
        $m7 = "hashrate" ascii wide nocase

    condition:
        executable and ($stratum or 2 of ($m*))
}

rule stratum_login
{
    meta:
        id = "yara.stratum-login"
        severity = "HIGH"
        category = "resource_abuse"
        title = "Mining-pool protocol messages"
        why = "JSON-RPC messages of the Stratum mining protocol (login with a wallet, subscribe, submit shares): code that speaks to a mining pool, whatever language it is written in."
        remediation = "Remove the mining code."
        hit = "{\"id\": 1, \"method\": \"mining.subscribe\", \"params\": []}\n{\"id\": 2, \"method\": \"mining.authorize\", \"params\": [\"WALLET.rig\", \"x\"]}"
        miss = "{\"method\": \"login\", \"params\": {\"login\": \"alice\", \"pass\": \"secret\"}}"

    strings:
        $subscribe = "mining.subscribe" ascii wide
        $authorize = "mining.authorize" ascii wide
        $submit = "mining.submit" ascii wide
        $notify = "mining.notify" ascii wide
        $job = "\"job_id\"" ascii wide
        $nonce = "\"nonce\"" ascii wide

    condition:
        2 of them and any of ($subscribe, $authorize, $submit, $notify)
}
