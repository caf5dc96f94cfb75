// Server-side scripts that run what a web request tells them to.

rule webshell
{
    meta:
        id = "yara.webshell"
        severity = "CRITICAL"
        category = "remote_code_execution"
        title = "Web shell"
        why = "A server page passes request parameters straight to a code or command evaluator: whoever can reach the page runs commands on the host."
        remediation = "Remove the page; never evaluate request data."
        hit = "<?php @eval(base64_decode($_POST['c'])); ?>"
        miss = "<?php echo htmlspecialchars($_GET['q']); ?>"

    strings:
        $php = /(eval|assert|system|passthru|shell_exec|popen|proc_open|pcntl_exec|create_function)\s*\(\s*(@?(base64_decode|gzinflate|str_rot13|stripslashes|urldecode)\s*\(\s*)*@?\$_(GET|POST|REQUEST|COOKIE|SERVER)\s*\[/ nocase
        $backtick = /`\s*\$_(GET|POST|REQUEST|COOKIE)\s*\[/
        $preg = /preg_replace\s*\(\s*["'].{1,40}\/e["']\s*,\s*\$_(GET|POST|REQUEST)/
        $jsp = /Runtime\.getRuntime\(\)\.exec\(\s*request\.getParameter\(/
        $asp = /\b(eval|execute|executeglobal)\s*\(?\s*request(\.form|\.querystring|\.item)?\s*\(\s*["']/ nocase

    condition:
        any of them
}

rule webshell_markers
{
    meta:
        id = "yara.webshell-kit"
        severity = "HIGH"
        category = "remote_code_execution"
        title = "Web shell toolkit markers"
        why = "Several features only a web shell offers together (command box, file manager, uploader, self-removal, server information) sit in one server page."
        remediation = "Remove the page."
        hit = "<?php if(isset($_POST['cmd'])){echo shell_exec($cmd);} move_uploaded_file($_FILES['f']['tmp_name'],$p); unlink(__FILE__); echo php_uname(); ?>"
        miss = "<?php move_uploaded_file($_FILES['avatar']['tmp_name'], $target); echo 'saved'; ?>"

    strings:
        $open = "<?php" nocase
        $cmd = /\$_(POST|GET|REQUEST)\s*\[\s*["'](cmd|command|exec|c|shell)["']\s*\]/ nocase
        $exec = /\b(shell_exec|passthru|system|proc_open|popen)\s*\(/ nocase
        $upload = "move_uploaded_file" nocase
        $self = /unlink\s*\(\s*__FILE__\s*\)/ nocase
        $uname = "php_uname" nocase
        $safe = "safe_mode" nocase

    condition:
        $open and $exec and 3 of ($cmd, $upload, $self, $uname, $safe)
}
