// Native executables that download, drop or hide code: what printable-string matching
// on a binary misses or cannot weigh. Each rule needs an executable header at offset 0.

private rule executable
{
    condition:
        uint32(0) == 0x464C457F or uint16(0) == 0x5A4D or
        uint32(0) == 0xFEEDFACE or uint32(0) == 0xFEEDFACF or
        uint32(0) == 0xCEFAEDFE or uint32(0) == 0xCFFAEDFE
}

rule dropper_binary
{
    meta:
        id = "yara.dropper-binary"
        severity = "CRITICAL"
        category = "remote_code_execution"
        title = "Executable that downloads and runs code"
        why = "The binary carries a download tool or URL, a writable temporary folder and a way to make a file executable or start it: the shape of a dropper. Nothing it fetches can be reviewed before it runs."
        remediation = "Remove the binary; install tools from their official packages."
        hit = "hex:7f454c46020101000000000000000000 2f7573722f62696e2f6375726c202d73 20687474703a2f2f3230332e302e3131 332e352f78202d6f202f746d702f2e78 00 63686d6f64202b78202f746d702f2e78"
        miss = "hex:7f454c46020101000000000000000000 2f7573722f62696e2f6375726c202d2d76657273696f6e"

    strings:
        $get1 = "curl " ascii wide
        $get2 = "wget " ascii wide
        $get3 = "URLDownloadToFile" ascii wide
        $get4 = "Invoke-WebRequest" ascii wide nocase
        $get5 = "DownloadFile" ascii wide
        $tmp1 = "/tmp/" ascii
        $tmp2 = "/dev/shm" ascii
        $tmp3 = "/var/tmp/" ascii
        $tmp4 = "%TEMP%" ascii wide nocase
        $tmp5 = "\\AppData\\" ascii wide nocase
        $run1 = "chmod +x" ascii
        $run2 = "chmod 777" ascii
        $run3 = "chmod 755" ascii
        $run4 = "WinExec" ascii
        $run5 = "ShellExecute" ascii
        $run6 = "CreateProcess" ascii
        $run7 = "/bin/sh -c" ascii

    condition:
        executable and any of ($get*) and any of ($tmp*) and any of ($run*)
}

rule upx_packed
{
    meta:
        id = "yara.upx-packed"
        severity = "HIGH"
        category = "obfuscation"
        title = "Executable packed with UPX"
        why = "A packed executable decompresses itself in memory; even its printable strings are hidden from review. Packing is rare in legitimate tools shipped with a skill and common in malware."
        remediation = "Remove the packed binary; ship source or install the tool from its official package."
        hit = "hex:7f454c46020101000000000000000000 5550583000 5550583100 55505821"
        miss = "hex:7f454c46020101000000000000000000 2e74657874002e64617461"

    strings:
        $marker = "UPX!"
        $section0 = "UPX0"
        $section1 = "UPX1"

    condition:
        executable and $marker and ($section0 or $section1)
}

rule embedded_private_key
{
    meta:
        id = "yara.embedded-private-key"
        severity = "HIGH"
        category = "hardcoded_secret"
        title = "Private key compiled into a binary"
        why = "A private key inside an executable is a credential nobody reviewing the skill can see or rotate; it often authenticates an implant to its operator."
        remediation = "Remove the key and the binary; load keys from the user's own configuration."
        hit = "hex:7f454c46020101000000000000000000 2d2d2d2d2d424547494e204f50454e5353482050524956415445204b45592d2d2d2d2d0a6233426c626e4e7a6143316b5a586b74646a45"
        miss = "hex:7f454c46020101000000000000000000 2d2d2d2d2d424547494e205055424c4943204b45592d2d2d2d2d"

    strings:
        $key = /-----BEGIN (RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----/

    condition:
        executable and $key
}
