#!/bin/sh
# Regenerates the short demo lesson videos in cpe/catalog/demo_media/ (committed; run once).
# Needs ffmpeg (apt-get install ffmpeg) on the machine that generates them, not at run time.
# Each is 6 seconds of H.264 (baseline) + AAC in MP4 with the index at the front (faststart):
# the course code, "CPE demo lesson" and a running clock, so a newcomer sees it play.
set -eu
out="$(dirname "$0")/../cpe/catalog/demo_media"
mkdir -p "$out"
bold=/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf
mono=/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf
for code in HB-GX-01 HB-GX-02 HB-GX-03 HB-GX-04 HB-GX-05 HB-GX-06 \
            HB-ZY-01 HB-ZY-02 HB-ZY-03 HB-ZY-04 HB-ZY-05 HB-ZY-06 \
            HB-ZY-07 HB-ZY-08 HB-ZY-09 HB-ZY-10 HB-ZY-11 HB-ZY-12; do
  case "$code" in HB-GX-*) colour=0x1f4e79 tone=440 ;; *) colour=0x1d5e3a tone=523 ;; esac
  name=$(echo "$code" | tr 'A-Z' 'a-z')
  ffmpeg -hide_banner -loglevel error -y \
    -f lavfi -i "color=c=$colour:s=320x180:r=15:d=6" \
    -f lavfi -i "sine=frequency=$tone:sample_rate=22050:duration=6" \
    -vf "drawtext=fontfile=$bold:text='$code':fontcolor=white:fontsize=30:x=(w-tw)/2:y=34,\
drawtext=fontfile=$bold:text='CPE demo lesson':fontcolor=white@0.8:fontsize=16:x=(w-tw)/2:y=76,\
drawtext=fontfile=$mono:text='%{pts\:hms}':fontcolor=yellow:fontsize=24:x=(w-tw)/2:y=118" \
    -c:v libx264 -profile:v baseline -level 3.0 -pix_fmt yuv420p -preset veryslow -crf 30 \
    -c:a aac -b:a 24k -ac 1 -movflags +faststart -map_metadata -1 -fflags +bitexact \
    "$out/$name.mp4"
done
du -ch "$out"/*.mp4 | tail -1
