// Reverse and bind shell payloads as bytes: shellcode idioms and compiled shells.

private rule executable
{
    condition:
        uint32(0) == 0x464C457F or uint16(0) == 0x5A4D or
        uint32(0) == 0xFEEDFACE or uint32(0) == 0xFEEDFACF or
        uint32(0) == 0xCEFAEDFE or uint32(0) == 0xCFFAEDFE
}

rule shellcode_reverse_shell
{
    meta:
        id = "yara.shellcode-shell"
        severity = "CRITICAL"
        category = "remote_code_execution"
        title = "Shell-spawning shellcode"
        why = "Machine code that opens a socket with raw system calls and executes /bin/sh: a reverse or bind shell payload, whatever file it hides in."
        remediation = "Remove the payload and the code that loads it."
        hit = "hex:6a2958996a025f6a015e0f05 4897 6a215800 0f05 48bb2f62696e2f736800 53 4889e7 6a3b58 0f05"
        miss = "hex:6a2958996a025f6a015e0f05 4897 c3"

    strings:
        // x86-64: socket(AF_INET, SOCK_STREAM, 0) through syscall 41
        $socket64 = { 6A 29 58 99 6A 02 5F 6A 01 5E 0F 05 }
        // x86: socketcall(SYS_SOCKET) through int 0x80
        $socket32 = { 31 DB F7 E3 53 43 53 6A 02 89 E1 B0 66 CD 80 }
        // "/bin/sh" or "//bin/sh" loaded into a register or pushed for execve
        $binsh64 = { 48 BB 2F 62 69 6E 2F 73 68 00 }
        $binsh64b = { 48 BB 2F 2F 62 69 6E 2F 73 68 }
        $binsh32 = { 68 2F 2F 73 68 68 2F 62 69 6E }
        // execve through syscall 59 or int 0x80 with eax = 11
        $execve64 = { 6A 3B 58 [0-8] 0F 05 }
        $execve32 = { B0 0B CD 80 }

    condition:
        any of ($socket*) and any of ($binsh*) and any of ($execve*)
}

rule compiled_reverse_shell
{
    meta:
        id = "yara.compiled-reverse-shell"
        severity = "HIGH"
        category = "remote_code_execution"
        title = "Executable wired as a reverse shell"
        why = "The binary connects a socket and duplicates it onto standard input and output before starting an interactive shell: the layout of a compiled reverse shell."
        remediation = "Remove the binary."
        hit = "hex:7f454c46020101000000000000000000 736f636b657400636f6e6e656374006475703200657865637665002f62696e2f7368002d69"
        miss = "hex:7f454c46020101000000000000000000 736f636b657400636f6e6e65637400726563760073656e64"

    strings:
        $socket = "socket" ascii
        $connect = "connect" ascii
        $dup = /dup2|dup3/ ascii
        $exec = /execv[pe]?|execl[pe]?|system/ ascii
        $shell = /\/bin\/(ba|z|da)?sh\x00/ ascii
        $interactive = "-i" ascii

    condition:
        executable and $socket and $connect and $dup and $exec and $shell and $interactive
}
