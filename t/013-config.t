# Configuration checks: every directive refuses bad values at `nginx -t`
# with a message naming it, and accepts its documented forms.
use Test::NgxWs;
use Test::More;
use File::Path qw(make_path remove_tree);

my $prefix = repo_root() . '/t/servroot/013-config';

# Runs `nginx -t` on a config whose one location holds $location_body
# (and whose http block holds $http_body); returns (exit code, output).
sub nginx_t {
    my ($location_body, $http_body) = @_;
    return nginx_check_config(dir => '013-config', location => $location_body,
                              http => $http_body,
                              extra => 'location @named { return 200; }');
}

my @good = (
    'ws_listen;',
    'ws_listen; ws_echo on;',
    'ws_listen; ws_max_message_size 16m; ws_max_frame_size 64k;',
    'ws_listen; ws_max_message_size 0;',
    'ws_listen; ws_send_buffer 4k;',
    'ws_listen; ws_ping_interval 0;',
    'ws_listen; ws_ping_interval 500ms; ws_ping_max_missed 1;',
    'ws_listen; ws_idle_timeout 10m; ws_close_timeout 1s;',
    'ws_listen; ws_fallback /index.html;',
    'ws_listen; ws_fallback @named;',
    'ws_listen; ws_slow_consumer drop;',
);

my ($rc, $out);

($rc, $out) = nginx_t('ws_listen; ws_subscribe room:$arg_room news; ws_publish room:$arg_room;',
                      'ws_zone z 1m;');
is($rc, 0, 'channels with variables accepted') or diag($out);
($rc, $out) = nginx_t('ws_listen; ws_protocol json; ws_channels_allow room:* news; ws_max_subscriptions 8;',
                      'ws_zone z 1m;');
is($rc, 0, 'the control protocol accepted') or diag($out);
($rc, $out) = nginx_t('ws_publisher room:$arg_room;', 'ws_zone z 1m;');
is($rc, 0, 'ws_publisher accepted') or diag($out);

for my $conf (@good) {
    my ($rc, $out) = nginx_t($conf);
    is($rc, 0, "accepted: $conf") or diag($out);
}

($rc, $out) = nginx_t('ws_listen;', 'ws_echo on; ws_ping_interval 10s;');
is($rc, 0, 'tunables accepted at http level') or diag($out);

# [location body, http body, message that must appear]
my @bad = (
    ['ws_listen; ws_listen;', undef,
     qr/"ws_listen" directive is duplicate/],
    ['ws_listen on;', undef,
     qr/invalid number of arguments in "ws_listen"/],
    ['ws_listen; ws_echo maybe;', undef,
     qr/invalid value "maybe" in "ws_echo"/],
    ['ws_listen; ws_max_message_size lots;', undef,
     qr/"ws_max_message_size" directive invalid value/],
    ['ws_listen; ws_max_message_size 1m; ws_max_frame_size 2m;', undef,
     qr/"ws_max_frame_size" 2097152 is larger than "ws_max_message_size" 1048576/],
    ['ws_listen; ws_send_buffer 1k;', undef,
     qr/"ws_send_buffer" directive must be at least 4k/],
    ['ws_listen; ws_ping_interval soon;', undef,
     qr/"ws_ping_interval" directive invalid value/],
    ['ws_listen; ws_ping_max_missed 0;', undef,
     qr/"ws_ping_max_missed" directive must be between 1 and 1000/],
    ['ws_listen; ws_ping_max_missed 1001;', undef,
     qr/"ws_ping_max_missed" directive must be between 1 and 1000/],
    ['ws_listen; ws_close_timeout 0;', undef,
     qr/"ws_close_timeout" must be greater than 0/],
    ['ws_listen; ws_fallback index.html;', undef,
     qr/invalid "ws_fallback" value "index.html"/],
    ['ws_listen; ws_fallback @;', undef,
     qr/invalid "ws_fallback" value "@": the named location has no name/],
    ['ws_listen;', 'ws_listen;',
     qr/"ws_listen" directive is not allowed here/],
    ['ws_listen; ws_subscribe news;', undef,
     qr/channels are used in \S+nginx.conf:\d+ but no "ws_zone" is defined in the http block/],
    ['ws_publisher news;', undef,
     qr/channels are used in \S+nginx.conf:\d+ but no "ws_zone" is defined/],
    ['ws_listen; ws_subscribe "bad\\"name";', 'ws_zone z 1m;',
     qr/invalid channel name "bad"name" in "ws_subscribe": 1-255 printable ASCII/],
    ['ws_listen; ws_subscribe conn:5;', 'ws_zone z 1m;',
     qr/invalid channel name "conn:5" in "ws_subscribe": .*not starting with "conn:"/],
    ['ws_listen; ws_subscribe a; ws_subscribe b;', 'ws_zone z 1m;',
     qr/"ws_subscribe" directive is duplicate/],
    ['ws_listen; ws_publish a; ws_publish b;', 'ws_zone z 1m;',
     qr/"ws_publish" directive is duplicate/],
    ['ws_listen; ws_slow_consumer maybe;', undef,
     qr/invalid value "maybe" in "ws_slow_consumer", it must be "close" or "drop"/],
    ['ws_listen;', 'ws_zone z 64k;',
     qr/"ws_zone" "z" is too small, it must be at least 128k/],
    ['ws_listen;', 'ws_zone z 1m; ws_zone y 1m;',
     qr/"ws_zone" directive is duplicate/],
    ['ws_listen;', 'ws_zone z lots;',
     qr/invalid "ws_zone" size "lots"/],
    ['ws_listen; ws_protocol json;', 'ws_zone z 1m;',
     qr/"ws_protocol json" needs "ws_channels_allow"/],
    ['ws_listen; ws_protocol json; ws_channels_allow room:*;', undef,
     qr/channels are used in \S+nginx.conf:\d+ but no "ws_zone"/],
    ['ws_listen; ws_protocol xml;', 'ws_zone z 1m;',
     qr/invalid value "xml" in "ws_protocol", it must be "raw" or "json"/],
    ['ws_listen; ws_max_subscriptions 0;', undef,
     qr/"ws_max_subscriptions" directive must be between 1 and 1024/],
    ['ws_listen; ws_channels_allow a; ws_channels_allow b;', undef,
     qr/"ws_channels_allow" directive is duplicate/],
);

for my $case (@bad) {
    my ($loc, $http, $message) = @$case;
    my ($rc, $out) = nginx_t($loc, $http);
    isnt($rc, 0, "refused: $loc" . ($http ? " (http: $http)" : ''));
    like($out, $message, "message for: $loc");
}

# A check made after the directive was read (at merge, or once the http
# block is known) names the file and line of that directive, not the line
# NGINX was reading then (the closing brace of a block).
my @late = (
    ['ws_protocol json;', 'ws_zone z 1m;',
     qr/"ws_protocol json" needs "ws_channels_allow"/],
    ['ws_limit_rate ip 5r/s;', undef,
     qr/per-ip or per-user rates are counted in "ws_zone"/],
    ['ws_max_connections 10;', undef,
     qr/connection caps and per-ip or per-user rates are counted in "ws_zone"/],
    ['ws_subscribe room;', undef,
     qr/channels are used in/],
    ['ws_deflate on;', 'ws_max_message_size 0;',
     qr/"ws_deflate" needs a "ws_max_message_size" other than 0/],
    ['ws_max_frame_size 2m;', undef,
     qr/"ws_max_frame_size" 2097152 is larger than "ws_max_message_size"/],
    ['ws_subprotocol_required on;', undef,
     qr/"ws_subprotocol_required on" needs "ws_subprotocols"/],
);

for my $case (@late) {
    my ($directive, $http, $message) = @$case;
    # the directive at fault on a line of its own, below others
    my ($rc, $out) = nginx_t("ws_listen;\n            ws_echo on;\n"
                             . "            $directive", $http);
    isnt($rc, 0, "refused: $directive");
    like($out, $message, "message for: $directive");

    open my $fh, '<', "$prefix/conf/nginx.conf" or die $!;
    my @lines = <$fh>;
    close $fh;
    my ($line) = grep { index($lines[$_ - 1], $directive) >= 0 } 1 .. @lines;
    like($out, qr/\Q$prefix\E\/conf\/nginx\.conf:$line\b/,
         "names the line of \"$directive\" ($line)");
}

remove_tree($prefix);
done_testing();
