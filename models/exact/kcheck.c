/* Standalone check of one kernel path against the scalar path (no Python): the built-in
 * self-test, then randomized matrix products, attention (ties, long windows), silu over a
 * 2^20 grid and activation quantization, all compared bit for bit. Not part of the
 * extension; used to validate paths this machine cannot run natively, e.g. NEON on x86:
 *
 *   aarch64-linux-gnu-gcc -static -std=gnu11 -O2 -ffp-contract=off -fno-fast-math -pthread \
 *       -Imodels/exact models/exact/kcheck.c models/exact/k{scalar,x86,model,neon}.c -lm -o kcheck
 *   qemu-aarch64 ./kcheck 3          # path ids: 0 scalar, 1 avx2, 2 avx512 (VNNI), 3 neon, 4 avxvnni
 *
 * (natively: gcc ... -o kcheck && ./kcheck 1). Exit status 0 when every comparison matches.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "kmodel.h"
static uint64_t rs=88172645463325252ull; static uint32_t rnd(){rs^=rs<<13;rs^=rs>>7;rs^=rs<<17;return (uint32_t)(rs>>11);}
static float rf(float s){return ((int)(rnd()%2000001)-1000000)*(s/1e6f);}
int main(int argc,char**argv){
  int path = atoi(argv[1]); const KOps *ops = kops_get(path), *ref=&kops_scalar;
  if(!ops){printf("path %d not available\n",path);return 2;}
  char msg[200]; int rc=kselftest(path,msg,sizeof msg); printf("selftest: %d %s\n",rc,msg);
  int bad=0;
  /* silu grid */
  int ns=1<<20; float*g0=malloc(ns*4),*g1=malloc(ns*4),*u=malloc(ns*4);
  for(int i=0;i<ns;i++){g0[i]=g1[i]=(float)(i-(ns/2))/8192.0f; u[i]=1.0f;}
  ref->silu_mul(g0,u,ns); ops->silu_mul(g1,u,ns); if(memcmp(g0,g1,ns*4)){printf("silu differs\n");bad++;}
  /* matmuls */
  for(int trial=0;trial<40;trial++){
    int kind=trial&1, n=1+rnd()%70, k=32*(1+rnd()%12), B=1+rnd()%9; int bb=kind?34:20;
    uint8_t*raw=malloc((size_t)n*(k/32)*bb); for(size_t i=0;i<(size_t)n*(k/32)*bb;i++) raw[i]=rnd();
    for(int r=0;r<n;r++) for(int b=0;b<k/32;b++){ uint8_t*p=raw+(r*(k/32)+b)*bb; int e=rnd()%30; uint16_t h=(uint16_t)((rnd()&1)<<15|e<<10|(rnd()&0x3ff)); p[0]=h;p[1]=h>>8; if(!kind){h=(uint16_t)((rnd()&1)<<15|(rnd()%30)<<10|(rnd()&0x3ff)); p[2]=h;p[3]=h>>8;} }
    float*x=malloc(B*k*4),*y0=malloc(B*n*4),*y1=malloc(B*n*4);
    for(int i=0;i<B*k;i++){int m=(i/32+trial)%5; x[i]= m==0?0: m==1? rf(1e30f): m==2? rf(1e-38f): m==3? (float)((int)(rnd()%5)-2) : rf(4);}
    kmatmul_once(PATH_SCALAR,kind,n,k,raw,B,x,y0); kmatmul_once(path,kind,n,k,raw,B,x,y1);
    if(memcmp(y0,y1,B*n*4)){printf("matmul differs kind=%d n=%d k=%d B=%d\n",kind,n,k,B);bad++;}
    free(raw);free(x);free(y0);free(y1);
  }
  /* attention */
  int nsz[]={1,2,3,7,8,9,100,255,256,257,513,1100,2048};
  for(int ti=0;ti<13;ti++){ int n=nsz[ti], tcap=(n+7)/8*8, r=3;
    for(int mode=0;mode<3;mode++){
    int16_t*k=calloc(tcap*64,2); int8_t*v=calloc(tcap*64,1); float*sk=calloc(tcap,4),*sv=calloc(tcap,4);
    for(int t=0;t<n;t++){ int tie = mode==2 || (mode==1 && t%3==0);
      for(int d=0;d<64;d++){ k[(t/8)*512+(d/2)*16+(t%8)*2+(d&1)] = tie? (int16_t)(d*517%65535-32767) : (int16_t)(rnd()%65535-32767);
        v[(t/2)*128+d*2+(t&1)] = tie? (int8_t)(127-(d&1)*254) : (int8_t)(rnd()%255-127);}
      sk[t]= tie?1e-4f: rf(1e-4f)+2e-4f; sv[t]= tie?0.03f: rf(0.01f)+0.011f; }
    float q[192],o0[192],o1[192]; for(int i=0;i<192;i++) q[i]=rf(6); for(int d=0;d<64;d++) q[128+d]=0;
    AttnScratch sc[2]; for(int j=0;j<2;j++){sc[j].tcap=tcap; sc[j].score=malloc(r*tcap*4); sc[j].w=malloc(r*tcap*4); sc[j].c=malloc(r*tcap*2); sc[j].full=malloc(r*tcap*4); sc[j].nfull=malloc(r*4); sc[j].acc32=malloc(r*64*4); sc[j].acc64=malloc(r*64*8);}
    AttnIn in={r,n,q,k,sk,v,sv}; ref->attend(&in,o0,&sc[0]); ops->attend(&in,o1,&sc[1]);
    if(memcmp(o0,o1,sizeof o0)){printf("attend differs n=%d mode=%d\n",n,mode);bad++;}
    }
  }
  /* quant_act on extremes */
  { int k=32*64; float*x=malloc(k*4); for(int i=0;i<k;i++){int m=(i/32)%6; x[i]= m==0?0:m==1?rf(3e38f):m==2?rf(1e-39f):m==3?(float)((int)(rnd()%5)-2):m==4?rf(1e-44f):rf(3);}
    int8_t q0[2048],q1[2048]; float s0[64],s1[64],sx0[64],sx1[64];
    ref->quant_act(x,k,q0,s0,sx0); ops->quant_act(x,k,q1,s1,sx1);
    if(memcmp(q0,q1,k)||memcmp(s0,s1,256)||memcmp(sx0,sx1,256)){printf("quant_act differs\n");bad++;} }
  printf("%s: %d differences\n", kpath_names[path], bad);
  return bad!=0 || rc!=0;
}
