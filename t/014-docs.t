# The reference in docs/ matches the module, and every link of the
# documentation works in a clone:
# - every directive the module defines has a section in docs/directives.md
#   with Syntax, Default and Context lines; the Context is the levels the
#   module accepts it at, and the Default is what the module's merge code
#   sets, wherever the directive is stored by a standard slot;
# - every $ws_ variable the module defines is in docs/variables.md;
# - every relative link of README.md and docs/*.md names a file inside the
#   repository that exists, and every #anchor a heading of its page.
use Test::NgxWs without_module => 1;
use Test::More;
use File::Basename qw(dirname);
use Cwd qw(abs_path);

sub slurp_file { local (@ARGV, $/) = @_; <> }

my $root = repo_root();
my %source = map { $_ => slurp_file($_) } glob("$root/ngx_module/*.c");
my $sources = join '', values %source;

# { ngx_string("ws_x"), FLAGS, handler, CONF_OFFSET, offset, post }
my %command;
while ($sources =~ /\{\s*ngx_string\("(ws_\w+)"\),\s*(NGX_HTTP_[\w|\s]+?),\s*(\w+),\s*(\w+),\s*(offsetof\([^)]*\)|\w+),\s*[^}]*\}/g) {
    $command{$1} = { flags => $2, handler => $3, offset => $5 };
}
my @variables = $sources =~ /\{\s*ngx_string\("(ws_\w+)"\),\s*NULL,/g;

cmp_ok(scalar keys %command, '>=', 50, 'directives found in the sources');
cmp_ok(scalar @variables, '>=', 13, 'variables found in the sources');

# The sections of docs/directives.md: "### ws_x" then indented lines
#     Syntax:  ws_x ...;
#     Default: ws_x value;   or   —
#     Context: http, server, location
my $directives_md = slurp_file("$root/docs/directives.md");
my %doc;
for my $section (split /^### /m, $directives_md) {
    my ($name) = $section =~ /\A(ws_\w+)\s*\n/ or next;
    my %entry;
    @entry{qw(syntax default context)} = map {
        $section =~ /^\s+$_:\s+(.+?)\s*$/m ? $1 : undef
    } qw(Syntax Default Context);
    $doc{$name} = \%entry;
}

my %level = (NGX_HTTP_MAIN_CONF => 'http', NGX_HTTP_SRV_CONF => 'server',
             NGX_HTTP_LOC_CONF => 'location');

for my $d (sort keys %command) {
    my $e = $doc{$d};
    ok($e, "docs/directives.md has a section for $d") or next;
    like($e->{syntax} // '', qr/^\Q$d\E[ ;]/, "$d: Syntax line");
    ok(defined $e->{default}, "$d: Default line");
    my $context = join ', ', map { $level{$_} } grep { $command{$d}{flags} =~ /\b$_\b/ }
        qw(NGX_HTTP_MAIN_CONF NGX_HTTP_SRV_CONF NGX_HTTP_LOC_CONF);
    is($e->{context}, $context, "$d: Context is where the module accepts it");
}

for my $d (sort keys %doc) {
    ok($command{$d}, "docs/directives.md: $d is a directive of the module");
}

# The default the module gives a field: the last argument of its
# ngx_conf_merge_*_value() or ngx_conf_init_*value() call.
sub module_default {
    my ($field) = @_;
    my $f = (split /\./, $field)[-1];
    return $1 if $sources =~ /ngx_conf_merge_\w*value\(\s*\w+->\Q$f\E\s*,\s*\w+->\Q$f\E\s*,\s*(.+?)\s*\);/s;
    return $1 if $sources =~ /ngx_conf_init_\w*value\(\s*\w+->\Q$f\E\s*,\s*(.+?)\s*\);/s;
    return undef;
}

# A C default expression as a number or a word: 1024 * 1024, 30000, an
# enum constant named in a ngx_conf_enum_t table, NULL, "".
sub c_value {
    my ($expr) = @_;
    return '' if $expr =~ /^(NULL|""|NGX_CONF_UNSET\w*)$/;
    if ($expr =~ /^[\d\s*]+$/) { my $v = 1; $v *= $_ for split /\s*\*\s*/, $expr; return $v }
    return $1 if $sources =~ /\{\s*ngx_string\("(\w+)"\),\s*\Q$expr\E\s*\}/;
    return undef;
}

my %unit = (k => 1024, m => 1024 * 1024, g => 1024 ** 3);
my %ms = (ms => 1, s => 1000, m => 60000, h => 3600000, d => 86400000, '' => 1000);

# The documented default in the unit the slot stores.
sub doc_value {
    my ($handler, $text) = @_;
    return '' if $text =~ /^—/;
    my ($v) = $text =~ /^ws_\w+\s+(\S+);$/ or return undef;
    return { on => 1, off => 0 }->{$v} if $handler eq 'ngx_conf_set_flag_slot';
    return $1 * ($unit{lc $2} // 1) if $handler eq 'ngx_conf_set_size_slot' && $v =~ /^(\d+)([kmg]?)$/i;
    return $1 * $ms{$2} if $handler eq 'ngx_conf_set_msec_slot' && $v =~ /^(\d+)(ms|s|m|h|d|)$/;
    return $1 * $ms{$2} / 1000 if $handler eq 'ngx_conf_set_sec_slot' && $v =~ /^(\d+)(s|m|h|d|)$/;
    return $v;
}

my $checked = 0;
for my $d (sort keys %command) {
    my ($field) = $command{$d}{offset} =~ /^offsetof\(\w+,\s*([\w.]+)\)$/ or next;
    next unless $doc{$d} && defined $doc{$d}{default};
    my $expr = module_default($field) // next;
    my $module = c_value($expr) // next;
    my $documented = doc_value($command{$d}{handler}, $doc{$d}{default});
    # "—" (no value) is also how an off-by-default number is written
    $module = '' if $module eq '0' && $documented eq '';
    is($documented, $module, "$d: documented default matches the module's ($expr)");
    $checked++;
}
cmp_ok($checked, '>=', 25, "defaults compared with the module's ($checked)");

my $variables_md = slurp_file("$root/docs/variables.md");
for my $v (@variables) {
    like($variables_md, qr/`\$\Q$v\E`/, "docs/variables.md documents \$$v");
}

# Links: [text](target) outside code, relative targets only.
sub github_anchors {
    my ($text) = @_;
    my %seen;
    my @anchors;
    $text =~ s/^```.*?^```//msg;
    for my $h ($text =~ /^#+\s+(.+?)\s*$/mg) {
        (my $a = lc $h) =~ s/[^\w\- ]//g;
        $a =~ s/ /-/g;
        push @anchors, $seen{$a}++ ? "$a-" . ($seen{$a} - 1) : $a;
    }
    return { map { $_ => 1 } @anchors };
}

my @pages = ("$root/README.md", glob("$root/docs/*.md"));
cmp_ok(scalar @pages, '>=', 8, 'README.md and the pages of docs/');
cmp_ok(-s "$root/README.md", '<', 16 * 1024, 'README.md stays an entry page (under 16 KB)');
my $links = 0;
for my $page (@pages) {
    my $text = slurp_file($page);
    (my $prose = $text) =~ s/^```.*?^```//msg;
    $prose =~ s/`[^`\n]*`(?!\])//g;
    (my $name = $page) =~ s{^\Q$root\E/}{};
    while ($prose =~ /\]\(([^)\s]+)\)/g) {
        my $target = $1;
        next if $target =~ m{^[a-z]+:}i;
        $links++;
        my ($path, $anchor) = split /#/, $target, 2;
        my $file = $path eq '' ? $page : dirname($page) . "/$path";
        my $abs = abs_path($file);
        ok(defined $abs && -e $abs && ($abs eq $root || index($abs, "$root/") == 0),
           "$name: link $target names a file of the repository") or next;
        next unless defined $anchor && $abs =~ /\.md$/;
        ok(github_anchors(slurp_file($abs))->{$anchor}, "$name: link $target names a heading");
    }
}
cmp_ok($links, '>=', 50, "relative links checked ($links)");

done_testing();
