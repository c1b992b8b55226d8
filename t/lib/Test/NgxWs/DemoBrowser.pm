package Test::NgxWs::DemoBrowser;

# What the browser tests of the demo's hooks share: the demo backend of
# conf_examples (demo_backend.py) on a port of the test file's own, with
# its stdout in a log the test reads; the demo's chat page served as
# make run serves it; and a t/browser script (playwright-core, headless
# Chromium) run against that page.
#
#     my $demo = Test::NgxWs::DemoBrowser->start(port => $bport, log => $blog);
#     start_nginx(http_config => $demo->upstream,
#                 config => "... location /backend/ {...}" . $demo->page_location);
#     my ($rc, $out) = $demo->run_script('chat_moderation.js', $port);

use strict;
use warnings;
use Test::More;


sub start {
    my ($class, %args) = @_;
    my $root = Test::NgxWs::repo_root();
    my $self = bless { port => $args{port}, log => $args{log}, root => $root }, $class;
    ok(Test::NgxWs::start_demo_backend($self->{port}, $self->{log}),
       'the demo backend listens');
    return $self;
}

# The http-level lines: a zone for the demo's channels and the backend
# behind an upstream{} with keepalive, as conf_examples/demo.conf has it.
sub upstream {
    my ($self, $zone) = @_;
    return <<"HTTP";
    ws_zone $zone 1m;
    upstream demo_backend {
        server 127.0.0.1:$self->{port};
        keepalive 8;
    }
HTTP
}

# The hooks' location (internal, keepalive to the backend; extra lines
# inside it) and the demo's chat page with its reconnecting client.
sub locations {
    my ($self, $extra) = @_;
    $extra //= '';
    return <<"CONF";
    location /backend/ {
        internal;
        proxy_pass http://demo_backend/;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
$extra
    }
    location = /chat.html {
        root $self->{root}/conf_examples;
    }
    location = /ws_client.js {
        root $self->{root}/conf_examples;
    }
CONF
}

# Runs t/browser/$script against the chat page on $port: (exit code, output).
sub run_script {
    my ($self, $script, $port) = @_;
    my $node_path = $ENV{NGX_WS_NODE_PATH} // "$self->{root}/build/npm/node_modules";
    my $out = Test::NgxWs::run_bounded("NODE_PATH=$node_path node "
        . "$self->{root}/t/browser/$script http://127.0.0.1:$port/chat.html");
    return ($? >> 8, $out);
}

sub log_text { Test::NgxWs::slurp($_[0]{log}) }

1;
