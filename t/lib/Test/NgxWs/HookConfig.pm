package Test::NgxWs::HookConfig;

# NGINX configuration text of the backend hook tests: the upstream of
# their backend (Test::NgxWs::Backend), client locations of the JSON
# protocol, and the internal locations their hooks call.
#
#     my $http = hooks_http_config(zone => 'rpc', port => $bport);
#     my $config = json_location('/watch')
#         . hooked_location('/text', message => q{return 200 'say "hi"';})
#         . hooked_location('/keep', message =>
#               hook_proxy('http://hooks/publish', 'X-Answer-Status' => 304),
#               'ws_backend_message_inflight 4;');
#
#     # the message hook tests' Node backend (Test::NgxWs::MessageBackend)
#     my $http = hooks_http_config(zone => 'answers', port => $nport);
#     my $hook = message_backend_location('/internal/node');

use strict;
use warnings;
use Exporter 'import';

our @EXPORT = qw(hooks_http_config json_location internal_location
                 hooked_location hook_proxy message_backend_location);

# The zone (if named), and the upstream "hooks": the backend on $port,
# with $keepalive idle connections kept (16 if not given).
sub hooks_http_config {
    my (%args) = @_;
    my $zone = defined $args{zone} ? "    ws_zone $args{zone} 1m;\n" : '';
    my $keepalive = $args{keepalive} // 16;
    return $zone . <<CONF;
    upstream hooks {
        server 127.0.0.1:$args{port};
        keepalive $keepalive;
    }
CONF
}

# A location of the JSON protocol (channels room:*), with more directives.
sub json_location {
    my ($path, @directives) = @_;
    return "    location $path {\n"
         . directives('ws_listen;', 'ws_protocol json;',
                      'ws_channels_allow room:*;', @directives)
         . "    }\n";
}

# An internal location answering with the directives of @answer.
sub internal_location {
    my ($path, @answer) = @_;
    return "    location = $path {\n"
         . directives('internal;', @answer)
         . "    }\n";
}

# A JSON location whose $hook (connect, message, subscribe) is
# /internal<path>, answering with $answer; more directives of the client
# location after it.
sub hooked_location {
    my ($path, $hook, $answer, @directives) = @_;
    return json_location($path, "ws_backend_$hook /internal$path;",
                         @directives)
         . internal_location("/internal$path", $answer);
}

# Directives that pass a hook's call on to $url (the backend's:
# http://hooks/<path>), keepalive kept, with request headers (name =>
# value as written in nginx.conf) telling the backend how to answer.
sub hook_proxy {
    my ($url, @headers) = @_;
    my @lines = ("proxy_pass $url;", 'proxy_http_version 1.1;',
                 'proxy_set_header Connection "";');
    while (my ($name, $value) = splice @headers, 0, 2) {
        push @lines, "proxy_set_header $name $value;";
    }
    return join "\n", @lines;
}

# The internal location $path of a message hook whose calls go to the
# Node backend's /message (t/lib/message_backend.js: each message says how
# to answer), answered within $timeout (5s if undef); more directives of
# that location after.
sub message_backend_location {
    my ($path, $timeout, @directives) = @_;
    $timeout //= '5s';
    return internal_location($path, hook_proxy('http://hooks/message'),
                             "proxy_read_timeout $timeout;", @directives);
}

sub directives {
    return join '', map { "        $_\n" } map { split /\n/ } @_;
}

1;
